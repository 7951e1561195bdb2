//! A bounded, in-process cache of validated tokens, keyed by the token's SHA-256.
//!
//! keystonemiddleware caches validation results for `token_cache_time`; here the
//! entry also never outlives the token itself, and the cache never grows past
//! `token_cache_size` entries (oldest insertions are evicted first).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The cache key: SHA-256 of the token (the token itself is never stored).
pub type TokenKey = [u8; 32];

/// Hashes a token into its cache key.
pub fn key(token: &str) -> TokenKey {
    Sha256::digest(token.as_bytes()).into()
}

struct Inner<V> {
    map: HashMap<TokenKey, (Arc<V>, Instant)>,
    order: VecDeque<TokenKey>,
}

/// The cache.
pub struct TokenCache<V> {
    ttl: Option<Duration>,
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

impl<V> TokenCache<V> {
    /// A cache keeping entries for `ttl` (`None` disables caching), at most `capacity`.
    pub fn new(ttl: Option<Duration>, capacity: usize) -> Self {
        TokenCache {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }

    /// The cached value for `key`, if present and fresh.
    pub fn get(&self, key: &TokenKey) -> Option<Arc<V>> {
        self.ttl?;
        let mut inner = self.inner.lock().ok()?;
        match inner.map.get(key) {
            Some((v, until)) if *until > Instant::now() => Some(v.clone()),
            Some(_) => {
                inner.map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Caches `value` until `ttl` passes or `expires_in` (the token's own life) ends.
    pub fn insert(&self, key: TokenKey, value: Arc<V>, expires_in: Option<Duration>) {
        let Some(ttl) = self.ttl else { return };
        let life = expires_in.map_or(ttl, |e| e.min(ttl));
        if life.is_zero() {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner
            .map
            .insert(key, (value, Instant::now() + life))
            .is_none()
        {
            inner.order.push_back(key);
        }
        while inner.map.len() > self.capacity {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            inner.map.remove(&oldest);
        }
        // Drop queue entries whose keys were already evicted as expired.
        if inner.order.len() > 2 * self.capacity {
            let Inner { map, order } = &mut *inner;
            order.retain(|k| map.contains_key(k));
        }
    }

    /// Forgets `key` (e.g. after Keystone said the token is invalid).
    pub fn remove(&self, key: &TokenKey) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.map.remove(key);
        }
    }

    /// Number of cached entries.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_expiring() {
        let cache = TokenCache::new(Some(Duration::from_secs(300)), 2);
        for t in ["a", "b", "c"] {
            cache.insert(key(t), Arc::new(t.to_owned()), None);
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&key("a")).is_none(), "oldest evicted");
        assert_eq!(
            cache.get(&key("c")).as_deref().map(String::as_str),
            Some("c")
        );
        cache.insert(key("d"), Arc::new("d".to_owned()), Some(Duration::ZERO));
        assert!(
            cache.get(&key("d")).is_none(),
            "an expired token is never cached"
        );
        cache.remove(&key("c"));
        assert!(cache.get(&key("c")).is_none());
        let off: TokenCache<String> = TokenCache::new(None, 10);
        off.insert(key("x"), Arc::new("x".to_owned()), None);
        assert!(off.get(&key("x")).is_none());
    }
}
