//! Disjoint sets (union-find), shared by the clustering (merging grid cells) and the street
//! network (counting connected components).
//!
//! Inputs: element ids `0..n`. Outputs: set roots. Pure computation: no files, GDAL, tokio or
//! clock; depends on nothing of ours.

/// Disjoint sets with path halving; the smaller id becomes the root, which keeps runs
/// reproducible (the result does not depend on it).
#[derive(Debug)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets, `0..n`.
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    /// The root of `i`'s set.
    pub fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] as usize != i {
            let grand = self.parent[self.parent[i] as usize];
            self.parent[i] = grand;
            i = grand as usize;
        }
        i
    }

    /// Merges the sets of `a` and `b`; false when they were one set already.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi] = lo as u32;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_elements_share_a_root_and_a_second_merge_reports_nothing_new() {
        let mut s = UnionFind::new(4);
        assert!(s.union(3, 1));
        assert!(s.union(1, 2));
        assert!(!s.union(2, 3));
        assert_eq!(s.find(3), s.find(2));
        assert_ne!(s.find(0), s.find(3));
        assert_eq!(s.find(3), 1, "the smaller id is the root");
    }
}
