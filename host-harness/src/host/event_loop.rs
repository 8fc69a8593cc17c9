//! A small event loop for several VMs of one simulated process, on a [`VirtualClock`].
//!
//! Envoy fires each VM's tick timer every `tick_period` after the plugin set it, and runs
//! queue notifications and http-call completions as they come. [`run_for`] does the same in
//! virtual time: it moves the clock to the next tick due among the VMs, ticks the VMs due then
//! (in the order given), and pumps every VM ([`Vm::pump`]), until `duration` has passed. Ticks
//! therefore happen at exactly the instants the plugin asked for, however long the real calls take.

use super::state::VirtualClock;
use super::vm::Vm;
use std::time::Duration;

/// Runs `vms` for `duration` of virtual time on `clock` (see the module documentation). The
/// VMs should be started with [`super::Clock::Virtual`] of the same clock. Fails with the first
/// VM failure (a trap).
pub fn run_for(
    clock: &VirtualClock,
    vms: &mut [&mut Vm],
    duration: Duration,
) -> Result<(), String> {
    let end = clock
        .now_ns()
        .saturating_add(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX));
    loop {
        let now = clock.now_ns();
        let mut due: Option<u64> = None;
        for vm in vms.iter_mut() {
            match vm.tick_period() {
                Some(period) => {
                    let period = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX);
                    let next = *vm.next_tick_ns.get_or_insert(now.saturating_add(period));
                    due = Some(due.map_or(next, |d| d.min(next)));
                }
                None => vm.next_tick_ns = None,
            }
        }
        let Some(due) = due.filter(|d| *d <= end) else {
            clock.advance_to(end);
            return pump_all(vms);
        };
        clock.advance_to(due);
        for vm in vms.iter_mut() {
            if vm.next_tick_ns == Some(due)
                && let Some(period) = vm.tick_period()
            {
                let period = u64::try_from(period.as_nanos()).unwrap_or(u64::MAX);
                vm.next_tick_ns = Some(due.saturating_add(period));
                vm.tick()?;
            }
        }
        pump_all(vms)?;
    }
}

fn pump_all(vms: &mut [&mut Vm]) -> Result<(), String> {
    for vm in vms.iter_mut() {
        vm.pump()?;
    }
    Ok(())
}
