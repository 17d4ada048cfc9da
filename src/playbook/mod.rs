//! Playbook loading and validation: spanned YAML in, [`model`] out, with every error located.
pub mod model;
