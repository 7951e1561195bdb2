//! `cargo test -p magnum-conductor --lib dump_rendered -- --ignored` with
//! `MAGNUM_DUMP_DIR=<dir>`: writes every driver × option combination as `<dir>/<name>.json`
//! (`{"template", "files", "environment_files", "parameters"}`, the body the conductor sends
//! Heat minus the stack name and timeout) for scripts/validate-templates.sh.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use super::combos;
use crate::drivers::{Registry, Templates};

#[test]
#[ignore = "writes files; run by scripts/validate-templates.sh"]
fn dump_rendered() {
    let dir = PathBuf::from(
        std::env::var("MAGNUM_DUMP_DIR").expect("MAGNUM_DUMP_DIR names the output directory"),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let templates = match std::env::var("MAGNUM_HEAT_TEMPLATE_DIR") {
        Ok(d) if !d.is_empty() => Templates::load(Some(std::path::Path::new(&d))).unwrap(),
        _ => Templates::load(None).unwrap(),
    };
    let registry = Registry::new(Arc::new(templates));
    let combos = combos::all(&registry);
    for c in &combos {
        let body = json!({
            "template": c.stack.template,
            "files": c.stack.files,
            "environment_files": c.stack.environment_files,
            "parameters": c.stack.parameters,
        });
        let path = dir.join(format!("{}.json", c.name));
        std::fs::write(&path, serde_json::to_string_pretty(&body).unwrap()).unwrap();
    }
    eprintln!(
        "dump_rendered: {} stacks written to {}",
        combos.len(),
        dir.display()
    );
}

#[test]
#[ignore = "scratch"]
fn scratch_render() {
    let t = Templates::load(None).unwrap();
    let params = t.params("kubernetes/_params.yaml").unwrap();
    let name = std::env::var("NAME").unwrap();
    let rendered = t.render_file(
        &name,
        &crate::drivers::templates::RenderContext {
            driver: "k8s_fedora_coreos_v1",
            os_distro: "fedora-coreos",
            coe: "kubernetes",
            params,
        },
    );
    match rendered {
        Ok(r) => eprintln!("{r}"),
        Err(e) => eprintln!("{e:?}\n{}", t.source(&name).unwrap()),
    }
}
