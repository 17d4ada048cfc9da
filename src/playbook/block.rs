//! `block`/`rescue`/`always`. A block's keywords flow into its children here; its `when`
//! stays on the block for the executor to evaluate per child, as Ansible does.

use super::keywords::{COMMON_KEYWORDS, heritable, inherit, parse_common};
use super::loader::{Loader, Scope};
use super::model::{Block, Common, Item};
use crate::yaml::Node;

const BLOCK_KEYWORDS: &[&str] = &["name", "block", "rescue", "always"];

impl Loader<'_> {
    /// A `block:` entry with its `rescue`/`always` sections.
    pub fn parse_block(&mut self, node: &Node, scope: &Scope) -> Option<Item> {
        let ld = self;
        let map = node.as_map()?;
        let mut common = Common::default();
        let mut name = None;
        let (mut block, mut rescue, mut always) = (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in map {
            let key = k.as_str().unwrap_or_default();
            if parse_common(ld, key, v, &mut common) {
                continue;
            }
            match key {
                "name" => name = ld.text_kw(v, key).map(|t| t.value),
                "block" => block = ld.parse_items(v, scope, "`block`"),
                "rescue" => rescue = ld.parse_items(v, scope, "`rescue`"),
                "always" => always = ld.parse_items(v, scope, "`always`"),
                _ => {
                    let allowed: Vec<&str> = COMMON_KEYWORDS
                        .iter()
                        .chain(BLOCK_KEYWORDS)
                        .copied()
                        .collect();
                    ld.unknown_key(k, &allowed, "block");
                }
            }
        }
        let parent = heritable(&common);
        for items in [&mut block, &mut rescue, &mut always] {
            inherit(items, &parent);
        }
        Some(Item::Block(Box::new(Block {
            name,
            span: node.span.clone(),
            block,
            rescue,
            always,
            common,
            role: scope.role.clone(),
        })))
    }
}
