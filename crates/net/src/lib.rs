//! nsbox-net: the network side of nsbox.
//!
//! - [`netns`]: named network namespaces, kept as iproute2 keeps them (a
//!   namespace bound on `/run/netns/NAME`, that directory a shared mount
//!   point), so `ip netns` and nsbox see and enter each other's;
//! - [`netns_exec`]: running a program in one, as `ip netns exec` does
//!   (its own mount namespace, `/sys` for that network, `/etc/netns/NAME`);
//! - [`rtnl`]: one rtnetlink request and its replies, over a plain socket
//!   (`netlink-sys`, messages from `netlink-packet-route`);
//! - [`link`] (listing in [`link_list`]), [`addr`], [`route`]: devices
//!   (veth pairs, bridges), addresses and routes, as `ip link`, `ip addr`
//!   and `ip route` handle them, each a request or two on one
//!   [`rtnl::Rtnl`];
//! - [`cidr`]: an address with its prefix length; [`nsarg`]: a namespace
//!   named as ip names one (name, path or pid);
//! - [`nsid`]: the ids the kernel gives other namespaces as seen from this
//!   one (`ip netns set`, the `(id: N)` of `ip netns list`).

pub mod addr;
pub mod bridge;
pub mod cidr;
pub mod cni;
pub mod error;
pub mod firewall;
pub mod ipam;
pub mod link;
pub mod link_list;
pub mod netns;
pub mod netns_exec;
pub mod nsarg;
pub mod nsid;
pub mod route;
pub mod rtnl;

pub use error::Error;
