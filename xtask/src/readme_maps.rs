//! Each crate's README opens with a map of its `src/` files in data-flow order (issue 17): a
//! test keeps every map naming exactly the files there are.

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn rust_files(src: &Path, under: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(under).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(src, &p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.insert(p.strip_prefix(src).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }

    /// The first word of each line of the map block: `<!-- map: … -->` then a ```text fence.
    fn mapped(readme: &str) -> Option<Vec<String>> {
        let after = readme.split_once("<!-- map:")?.1;
        let block = after.split_once("```text\n")?.1.split_once("```")?.0;
        Some(block.lines().filter_map(|l| l.split_whitespace().next()).map(String::from).collect())
    }

    #[test]
    fn every_crate_readme_maps_its_files() {
        let crates = crate::root().join("crates");
        let mut checked = 0;
        for e in std::fs::read_dir(&crates).unwrap().flatten() {
            let dir = e.path();
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_else(|_| panic!("{name}: no README.md"));
            let listed = mapped(&readme).unwrap_or_else(|| panic!("{name}/README.md has no map of its files"));
            assert!(readme.starts_with(&format!("# {name}\n\n<!-- map:")), "{name}: the map opens the README");
            let mut files = BTreeSet::new();
            rust_files(&dir.join("src"), &dir.join("src"), &mut files);
            let set: BTreeSet<String> = listed.iter().cloned().collect();
            assert_eq!(set.len(), listed.len(), "{name}: a file mapped twice");
            assert_eq!(set, files, "{name}/README.md's map against src/");
            checked += 1;
        }
        assert!(checked >= 8, "{checked} crates");
    }

    #[test]
    fn a_map_reads_its_block_only() {
        let r = "# x\n\n<!-- map: files -->\n```text\na.rs   one\nb/c.rs two\n```\n\n```text\nd.rs\n```\n";
        assert_eq!(mapped(r).unwrap(), ["a.rs", "b/c.rs"]);
        assert_eq!(mapped("# x\n"), None);
    }
}
