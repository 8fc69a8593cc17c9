//! What `/proc/<pid>/status` says about a process the benchmarks started (Linux only).

/// Why a process's status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcStatusError {
    /// The file could not be read (the process is gone, or this is not Linux).
    #[error("reading /proc/{pid}/status: {source}")]
    Read {
        /// The process.
        pid: u32,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The field is missing or not `<n> kB`.
    #[error("/proc/{pid}/status has no readable {field}")]
    Field {
        /// The process.
        pid: u32,
        /// The field looked for.
        field: &'static str,
    },
}

/// The resident set size of process `pid` in KiB (`VmRSS`).
pub fn vm_rss_kib(pid: u32) -> Result<u64, ProcStatusError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|source| ProcStatusError::Read { pid, source })?;
    kib_field(&status, "VmRSS").ok_or(ProcStatusError::Field {
        pid,
        field: "VmRSS",
    })
}

/// A `Name:   <n> kB` field of a status text.
fn kib_field(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(name)?.strip_prefix(':')?;
        value.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_fields() {
        let status = "Name:\tenvoy\nVmHWM:\t  200 kB\nVmRSS:\t  123456 kB\nThreads:\t9\n";
        assert_eq!(kib_field(status, "VmRSS"), Some(123_456));
        assert_eq!(kib_field(status, "VmSwap"), None);
        assert_eq!(kib_field(status, "Threads"), None);
        assert!(vm_rss_kib(std::process::id()).unwrap() > 0);
    }
}
