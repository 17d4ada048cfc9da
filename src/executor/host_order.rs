//! Play `order`: the order a play's hosts run in (and are batched by `serial`), as
//! Ansible's inventory returns them for the play.

use rand::seq::SliceRandom;

use crate::playbook::model::HostOrder;

/// `hosts` (in inventory order, as the play's pattern matched them) in the play's order.
pub fn ordered(mut hosts: Vec<String>, order: HostOrder) -> Vec<String> {
    match order {
        HostOrder::Inventory => {}
        HostOrder::ReverseInventory => hosts.reverse(),
        HostOrder::Sorted => hosts.sort(),
        HostOrder::ReverseSorted => {
            hosts.sort();
            hosts.reverse();
        }
        HostOrder::Shuffle => hosts.shuffle(&mut rand::rng()),
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn orders_follow_ansible() {
        let hosts = names(&["web2", "db1", "web10"]);
        let o = |order| ordered(hosts.clone(), order);
        assert_eq!(o(HostOrder::Inventory), hosts);
        assert_eq!(
            o(HostOrder::ReverseInventory),
            names(&["web10", "db1", "web2"])
        );
        assert_eq!(o(HostOrder::Sorted), names(&["db1", "web10", "web2"]));
        assert_eq!(
            o(HostOrder::ReverseSorted),
            names(&["web2", "web10", "db1"])
        );
        let mut shuffled = o(HostOrder::Shuffle);
        shuffled.sort();
        assert_eq!(shuffled, names(&["db1", "web10", "web2"]));
    }
}
