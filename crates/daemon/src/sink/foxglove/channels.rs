//! The server's channels: one per topic, with an id stable for the
//! server's life and shared by all its clients, added when a topic first
//! carries a message (a sensor's first frame of a kind, its first
//! well-known message). Each channel's advertisement (with its base64
//! schema) is built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::protocol::ChannelInfo;

/// Most channels the server keeps (topics come from sensor names and
/// kinds; a replayed recording could bring many).
pub const MAX_CHANNELS: usize = 4096;

/// The channels of one server.
#[derive(Debug, Default)]
pub struct Channels {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    by_topic: HashMap<String, Arc<ChannelInfo>>,
    all: Vec<Arc<ChannelInfo>>,
}

impl Channels {
    /// The channel of `topic`, added (message `schema_name`, decoded with
    /// `descriptor_set`) when new; `None` once [`MAX_CHANNELS`] exist.
    pub fn get_or_add(
        &self,
        topic: &str,
        schema_name: &'static str,
        descriptor_set: &[u8],
    ) -> Option<Arc<ChannelInfo>> {
        let mut r = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = r.by_topic.get(topic) {
            return Some(c.clone());
        }
        if r.all.len() >= MAX_CHANNELS {
            return None;
        }
        let id = u32::try_from(r.all.len() + 1).ok()?;
        let c = Arc::new(ChannelInfo::protobuf(
            id,
            topic.to_owned(),
            schema_name,
            descriptor_set,
        ));
        r.by_topic.insert(topic.to_owned(), c.clone());
        r.all.push(c.clone());
        Some(c)
    }

    /// Every channel so far, in id order.
    pub fn all(&self) -> Vec<Arc<ChannelInfo>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .all
            .clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_stable_id_per_topic() {
        let c = Channels::default();
        let a = c.get_or_add("gps/gps", "x.A", b"a").unwrap();
        let b = c.get_or_add("gps/fix", "x.B", b"b").unwrap();
        assert_eq!((a.id, b.id), (1, 2));
        assert_eq!(c.get_or_add("gps/gps", "x.A", b"a").unwrap().id, 1);
        assert_eq!(c.all().len(), 2);
        assert_eq!(a.schema, "YQ==");
    }
}
