//! Generated names, as upstream's `NameGenerator`: `<greek letter>-<1..24>-<suffix>`.

use rand::Rng;

const LETTERS: [&str; 24] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
    "psi", "omega",
];

/// A name such as `kappa-8-cluster` for `suffix` = `cluster`.
pub fn generate(suffix: &str) -> String {
    let mut rng = rand::rng();
    let letter = LETTERS[rng.random_range(0..LETTERS.len())];
    let n = rng.random_range(1..=LETTERS.len());
    format!("{letter}-{n}-{suffix}")
}

/// Cluster and federation names: a letter, then letters, digits, `_`, `.` or `-`.
pub fn is_cluster_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_are_valid_cluster_names() {
        for _ in 0..200 {
            let n = generate("cluster");
            assert!(is_cluster_name(&n), "{n}");
            let parts: Vec<&str> = n.split('-').collect();
            assert_eq!(parts.len(), 3);
            let num: usize = parts[1].parse().unwrap();
            assert!((1..=24).contains(&num));
        }
        assert!(!is_cluster_name("1abc") && !is_cluster_name("") && !is_cluster_name("a b"));
    }
}
