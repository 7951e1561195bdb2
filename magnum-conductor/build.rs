//! Embeds `heat-templates/` into the conductor: writes `$OUT_DIR/heat_templates.rs`, a sorted
//! list of `(relative path, include_str!(absolute path))` for every file under the directory
//! except README files and dot files.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

/// Tells cargo to run this script again when `path` changes (stdout is cargo's channel).
fn watch(path: &Path) -> io::Result<()> {
    writeln!(io::stdout(), "cargo:rerun-if-changed={}", path.display())
}

fn main() -> io::Result<()> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?);
    let root = manifest.join("..").join("heat-templates");
    watch(&root)?;

    let mut files = Vec::new();
    collect(&root, &root, &mut files)?;
    files.sort();

    let mut out = String::from(
        "/// Every file of heat-templates/ (path relative to it, contents), sorted by path.\n\
         pub(crate) static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for (rel, abs) in &files {
        watch(abs)?;
        writeln!(
            out,
            "    ({rel:?}, include_str!({:?})),",
            abs.display().to_string()
        )
        .map_err(io::Error::other)?;
    }
    out.push_str("];\n");

    let dest =
        PathBuf::from(env::var("OUT_DIR").map_err(io::Error::other)?).join("heat_templates.rs");
    fs::write(dest, out)
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        // Directories are watched too, so added or removed files trigger a rebuild.
        if entry.file_type()?.is_dir() {
            watch(&path)?;
            collect(root, &path, files)?;
        } else if !name.eq_ignore_ascii_case("README.md") {
            let rel = path
                .strip_prefix(root)
                .map_err(io::Error::other)?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let abs = fs::canonicalize(&path)?;
            files.push((rel, abs));
        }
    }
    Ok(())
}
