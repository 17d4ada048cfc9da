//! strata: an agentless, SSH push-based orchestrator that runs Ansible-style playbooks.
pub mod diagnostic;
pub mod events;
pub mod lab;
pub mod modules;
pub mod playbook;
pub mod template;
pub mod transport;
pub mod yaml;
