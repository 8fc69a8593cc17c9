//! `cargo xtask oci [--out DIR] [--wasm FILE] [--tag TAG]`: the plugin as an OCI image layout,
//! in the Wasm artifact format Istio's `WasmPlugin` pulls, written without a container engine.
//!
//! ```text
//!   DIR/oci-layout                      {"imageLayoutVersion":"1.0.0"}
//!   DIR/index.json                      one manifest descriptor, tagged (org.opencontainers.image.ref.name)
//!   DIR/blobs/sha256/<manifest>         application/vnd.oci.image.manifest.v1+json
//!   DIR/blobs/sha256/<config>           application/vnd.module.wasm.config.v1+json
//!   DIR/blobs/sha256/<trieguard.wasm>   application/vnd.module.wasm.content.layer.v1+wasm
//! ```
//!
//! This is the "oci" variant of the Wasm image specification (solo-io/wasm `spec/spec.md`),
//! which Istio's image fetcher recognises by the config media type and from which it takes the
//! layer of the wasm content media type as the module. Push it with a tool that reads OCI
//! layouts, e.g. `oras cp --from-oci-layout DIR:TAG REGISTRY/REPO:TAG` or
//! `skopeo copy oci:DIR:TAG docker://REGISTRY/REPO:TAG` (docs/istio.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::step;

/// OCI image manifest media type (OCI image spec v1).
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Config media type of the Wasm artifact image spec: what Istio checks to take this path.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.module.wasm.config.v1+json";
/// The one layer: the proxy-wasm module itself, unpacked.
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.module.wasm.content.layer.v1+wasm";

/// Runs the task: builds `trieguard.wasm` unless `--wasm` names one, then writes the layout.
pub fn run(sh: &Shell, args: &[String]) -> anyhow::Result<()> {
    let mut out = PathBuf::from("target/oci/trieguard");
    let mut wasm = None;
    let mut tag = env!("CARGO_PKG_VERSION").to_owned();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .with_context(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--out" => out = PathBuf::from(value()?),
            "--wasm" => wasm = Some(PathBuf::from(value()?)),
            "--tag" => tag = value()?,
            other => {
                bail!("unknown argument '{other}' (oci [--out DIR] [--wasm FILE] [--tag TAG])")
            }
        }
    }
    let wasm = match wasm {
        Some(path) => path,
        None => crate::build::run(sh)?,
    };
    let out = sh.current_dir().join(out);
    step(&format!("oci: image layout in {}", out.display()));
    let module = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let manifest = write_layout(&out, &module, &tag)?;
    println!(
        "module   sha256:{}  {} bytes",
        sha256_hex(&module),
        module.len()
    );
    println!("manifest sha256:{manifest}");
    println!("tag      {tag}");
    println!(
        "push:    oras cp --from-oci-layout {}:{tag} REGISTRY/REPO:{tag}",
        out.display()
    );
    Ok(())
}

/// Lower-case hex SHA-256 of `bytes` (what `WasmPlugin.spec.sha256` holds for the module).
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `bytes` as a blob; returns its OCI descriptor.
fn write_blob(
    dir: &Path,
    media_type: &str,
    bytes: &[u8],
    title: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let hex = sha256_hex(bytes);
    let path = dir.join("blobs").join("sha256").join(&hex);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    let mut descriptor = json!({
        "mediaType": media_type,
        "digest": format!("sha256:{hex}"),
        "size": bytes.len(),
    });
    if let (Some(title), Some(object)) = (title, descriptor.as_object_mut()) {
        object.insert(
            "annotations".to_owned(),
            json!({ "org.opencontainers.image.title": title }),
        );
    }
    Ok(descriptor)
}

/// Writes the OCI image layout of `module` tagged `tag` into `dir` (replacing an earlier one);
/// returns the manifest's digest (hex).
pub fn write_layout(dir: &Path, module: &[u8], tag: &str) -> anyhow::Result<String> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("blobs").join("sha256"))
        .with_context(|| format!("creating {}", dir.display()))?;
    // Runtime config of the Wasm image spec: Envoy, proxy-wasm ABI 0.2.1, the plugin's root id
    // (the filter registers one root context for any root id; "" is Istio's default).
    let config = serde_json::to_vec(&json!({
        "type": "envoy_proxy",
        "abiVersions": ["proxy_abi_version_0_2_1"],
        "config": { "root_ids": [""] },
    }))?;
    let config = write_blob(dir, CONFIG_MEDIA_TYPE, &config, Some("runtime-config.json"))?;
    let layer = write_blob(dir, LAYER_MEDIA_TYPE, module, Some("plugin.wasm"))?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config,
        "layers": [layer],
    }))?;
    let manifest_hex = sha256_hex(&manifest);
    let mut manifest_descriptor = write_blob(dir, MANIFEST_MEDIA_TYPE, &manifest, None)?;
    if let Some(object) = manifest_descriptor.as_object_mut() {
        object.insert(
            "annotations".to_owned(),
            json!({ "org.opencontainers.image.ref.name": tag }),
        );
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest_descriptor],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec_pretty(&index)?)?;
    std::fs::write(
        dir.join("oci-layout"),
        serde_json::to_vec(&json!({ "imageLayoutVersion": "1.0.0" }))?,
    )?;
    Ok(manifest_hex)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use serde_json::Value;

    fn read_json(path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    /// Reads the blob a descriptor points at and checks its digest and size.
    fn blob(dir: &Path, descriptor: &Value) -> Vec<u8> {
        let digest = descriptor["digest"].as_str().unwrap();
        let hex = digest.strip_prefix("sha256:").unwrap();
        let bytes = std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(sha256_hex(&bytes), hex, "blob content matches its digest");
        assert_eq!(descriptor["size"].as_u64().unwrap(), bytes.len() as u64);
        bytes
    }

    #[test]
    fn layout_digests_match_blobs_and_index_points_at_the_manifest() {
        let dir = std::env::temp_dir().join(format!("xtask-oci-test-{}", std::process::id()));
        // A minimal valid module: magic and version.
        let module = b"\0asm\x01\0\0\0";
        let manifest_hex = write_layout(&dir, module, "0.1.0").unwrap();

        assert_eq!(
            read_json(&dir.join("oci-layout")),
            json!({"imageLayoutVersion": "1.0.0"})
        );
        let index = read_json(&dir.join("index.json"));
        assert_eq!(index["schemaVersion"], 2);
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 1);
        assert_eq!(manifests[0]["mediaType"], MANIFEST_MEDIA_TYPE);
        assert_eq!(
            manifests[0]["annotations"]["org.opencontainers.image.ref.name"],
            "0.1.0"
        );
        assert_eq!(manifests[0]["digest"], format!("sha256:{manifest_hex}"));

        let manifest: Value = serde_json::from_slice(&blob(&dir, &manifests[0])).unwrap();
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(manifest["config"]["mediaType"], CONFIG_MEDIA_TYPE);
        let config: Value = serde_json::from_slice(&blob(&dir, &manifest["config"])).unwrap();
        assert_eq!(config["type"], "envoy_proxy");
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0]["mediaType"], LAYER_MEDIA_TYPE);
        assert_eq!(blob(&dir, &layers[0]), module);

        // Nothing else in blobs/: config, layer, manifest.
        assert_eq!(
            std::fs::read_dir(dir.join("blobs/sha256")).unwrap().count(),
            3
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
