//! Heat stack names, as upstream makes them (spec §4.3).

use rand::Rng;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn clean(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c == '_' || c == '.' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

fn short_id() -> String {
    let mut rng = rand::rng();
    (0..12)
        .map(|_| char::from(BASE32[rng.random_range(0..32)]))
        .collect()
}

/// The name of a cluster's stack: the first 30 characters of its name, cleaned,
/// then a random 12-character id.
pub fn cluster(cluster_name: &str) -> String {
    format!("{}-{}", clean(cluster_name, 30), short_id()).to_lowercase()
}

/// The name of a non-default node group's stack.
pub fn nodegroup(cluster_name: &str, nodegroup_name: &str) -> String {
    format!(
        "{}-{}-{}",
        clean(cluster_name, 20),
        clean(nodegroup_name, 9),
        short_id()
    )
    .to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_cleaned_truncated_and_suffixed() {
        let n = super::cluster("My_Cluster.k8s with spaces and a very long tail indeed");
        let (base, id) = n.rsplit_once('-').unwrap();
        assert_eq!(base, "my-cluster-k8swithspacesand");
        assert_eq!(id.len(), 12);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
        let ng = super::nodegroup("cluster_one", "gpu.workers-xl");
        assert!(ng.starts_with("cluster-one-gpu-worke-"), "{ng}");
        assert_ne!(super::cluster("a"), super::cluster("a"));
    }
}
