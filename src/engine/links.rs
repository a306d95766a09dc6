//! References between rows ("Reports To" naming another row of the file):
//! cycles, rows that depend on invalid rows, and the order to send rows in.
//!
//! Pure graph work on sequence numbers; the engine turns the findings into
//! row messages. Iterative throughout, so a hostile file with a 200,000-row
//! chain cannot overflow the stack.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default, PartialEq)]
pub struct Analysis {
    /// Rows that can be sent, by level: a row's level is one more than the
    /// highest level among the rows it refers to (rows referring to no row
    /// are level 0 and are not listed).
    pub levels: HashMap<u32, u32>,
    /// Groups of rows that refer to each other in a circle, each sorted.
    pub cycles: Vec<Vec<u32>>,
    /// Rows that refer, directly or not, to an invalid or circular row, with
    /// the row they refer to directly that is the problem.
    pub blocked: HashMap<u32, u32>,
}

/// `deps[r]` lists the rows row `r` refers to; `invalid` says which rows
/// will not be sent.
pub fn analyse(deps: &HashMap<u32, Vec<u32>>, invalid: &dyn Fn(u32) -> bool) -> Analysis {
    let mut a = Analysis::default();
    let mut bad: HashSet<u32> = HashSet::new();
    // Tarjan emits components after every component they refer to, so
    // levels and blockages are settled in emission order.
    for comp in components(deps) {
        let circular = comp.len() > 1 || deps.get(&comp[0]).is_some_and(|d| d.contains(&comp[0]));
        if circular {
            let mut c = comp.clone();
            c.sort_unstable();
            bad.extend(&c);
            a.cycles.push(c);
            continue;
        }
        let v = comp[0];
        if invalid(v) {
            bad.insert(v);
            continue;
        }
        let Some(ds) = deps.get(&v) else { continue };
        if let Some(&d) = ds.iter().find(|&&d| bad.contains(&d) || invalid(d)) {
            a.blocked.insert(v, d);
            bad.insert(v);
            continue;
        }
        let level =
            ds.iter().map(|d| a.levels.get(d).copied().unwrap_or(0)).max().map_or(0, |m| m + 1);
        a.levels.insert(v, level);
    }
    a.cycles.sort();
    a
}

/// Strongly connected components (Tarjan), iteratively, in an order where a
/// component comes after all those it has edges to.
fn components(deps: &HashMap<u32, Vec<u32>>) -> Vec<Vec<u32>> {
    let mut nodes: Vec<u32> = deps.keys().copied().collect();
    nodes.sort_unstable();
    let empty = Vec::new();
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut low: HashMap<u32, usize> = HashMap::new();
    let mut on_stack: HashSet<u32> = HashSet::new();
    let mut stack: Vec<u32> = Vec::new();
    let mut out = Vec::new();
    let mut next = 0usize;
    for root in nodes {
        if index.contains_key(&root) {
            continue;
        }
        let mut work: Vec<(u32, usize)> = vec![(root, 0)];
        while let Some(&(v, i)) = work.last() {
            if i == 0 && !index.contains_key(&v) {
                index.insert(v, next);
                low.insert(v, next);
                next += 1;
                stack.push(v);
                on_stack.insert(v);
            }
            let children = deps.get(&v).unwrap_or(&empty);
            if i < children.len() {
                work.last_mut().expect("not empty").1 += 1;
                let w = children[i];
                if !index.contains_key(&w) {
                    work.push((w, 0));
                } else if on_stack.contains(&w) {
                    let m = low[&v].min(index[&w]);
                    low.insert(v, m);
                }
                continue;
            }
            work.pop();
            if let Some(&(u, _)) = work.last() {
                let m = low[&u].min(low[&v]);
                low.insert(u, m);
            }
            if low[&v] == index[&v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack.remove(&w);
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(comp);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(edges: &[(u32, u32)]) -> HashMap<u32, Vec<u32>> {
        let mut d: HashMap<u32, Vec<u32>> = HashMap::new();
        for &(a, b) in edges {
            d.entry(a).or_default().push(b);
        }
        d
    }

    #[test]
    fn levels_follow_the_chain_in_either_file_order() {
        // 5 reports to 2, 2 reports to 9, 7 reports to 9.
        let a = analyse(&deps(&[(5, 2), (2, 9), (7, 9)]), &|_| false);
        assert_eq!(a.levels, HashMap::from([(2, 1), (5, 2), (7, 1)]));
        assert!(a.cycles.is_empty() && a.blocked.is_empty());
    }

    #[test]
    fn cycles_are_named_whole_and_block_their_dependents() {
        let a =
            analyse(&deps(&[(1, 2), (2, 3), (3, 1), (4, 1), (5, 4), (6, 6), (7, 8)]), &|_| false);
        assert_eq!(a.cycles, vec![vec![1, 2, 3], vec![6]]);
        assert_eq!(a.blocked, HashMap::from([(4, 1), (5, 4)]));
        assert_eq!(a.levels, HashMap::from([(7, 1)]));
    }

    #[test]
    fn an_invalid_row_blocks_the_rows_that_refer_to_it() {
        let a = analyse(&deps(&[(2, 1), (3, 2)]), &|r| r == 1);
        assert_eq!(a.blocked, HashMap::from([(2, 1), (3, 2)]));
        assert!(a.levels.is_empty());
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let edges: Vec<(u32, u32)> = (1..200_000).map(|i| (i, i - 1)).collect();
        let a = analyse(&deps(&edges), &|_| false);
        assert_eq!(a.levels[&199_999], 199_999);
    }
}
