//! The hierarchy of parties and the sides it makes; no I/O (the store
//! reads it: `store::parties::hierarchy`).

use std::collections::HashMap;

/// The parties' hierarchy: who is under whom. A party's side is its
/// top-most ancestor (`az-mod` → `azerbaijan`).
pub struct Hierarchy {
    parents: HashMap<String, Option<String>>,
}

impl Hierarchy {
    /// From every party's parent.
    pub fn new(parents: HashMap<String, Option<String>>) -> Self {
        Self { parents }
    }

    pub fn exists(&self, slug: &str) -> bool {
        self.parents.contains_key(slug)
    }

    /// A party's side: its top-most ancestor.
    pub fn side_of(&self, slug: &str) -> Option<&str> {
        let (mut current, _) = self.parents.get_key_value(slug)?;
        for _ in 0..=self.parents.len() {
            match self.parents.get(current.as_str()) {
                Some(Some(parent)) => current = self.parents.get_key_value(parent.as_str())?.0,
                _ => return Some(current.as_str()),
            }
        }
        None
    }

    /// True when `ancestor` is `slug` or one of its ancestors.
    pub fn is_self_or_ancestor(&self, ancestor: &str, slug: &str) -> bool {
        let mut current = Some(slug.to_string());
        let mut steps = 0;
        while let Some(c) = current {
            if c == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.parents.len() {
                return false;
            }
            current = self.parents.get(&c).cloned().flatten();
        }
        false
    }

    /// Every party whose side is one of `sides`.
    pub fn members_of_sides(&self, sides: &[String]) -> Vec<String> {
        self.parents.keys().filter(|p| self.side_of(p).is_some_and(|s| sides.iter().any(|x| x == s))).cloned().collect()
    }

    /// `slug` and every party below it.
    pub fn subtree(&self, slug: &str) -> Vec<String> {
        self.parents.keys().filter(|p| self.is_self_or_ancestor(slug, p)).cloned().collect()
    }
}

impl Hierarchy {
    /// Every party and its side, as two aligned lists.
    pub fn sides(&self) -> (Vec<String>, Vec<String>) {
        self.parents.keys().filter_map(|p| Some((p.clone(), self.side_of(p)?.to_string()))).unzip()
    }
}
