//! Answers kept for a short time: what costs many file reads per request
//! and changes rarely (a cgroup's CPU limits, found by walking up its tree;
//! a container's start; the host's cpuinfo). A value is used until it is
//! older than its validity; errors are not kept.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries beyond this are dropped (the oldest first) so a host with many
/// short-lived containers does not grow the map without end.
const MAX_ENTRIES: usize = 4096;

pub struct Cache<K, V> {
    valid: Duration,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    pub fn new(valid: Duration) -> Cache<K, V> {
        Cache {
            valid,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key`: kept, or from `make` (then kept when `Ok`).
    /// `make` runs without the lock, so a slow one holds up no other key.
    pub fn get<E>(&self, key: &K, make: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some((at, v)) = self.lock().get(key) {
            if at.elapsed() < self.valid {
                return Ok(v.clone());
            }
        }
        let v = make()?;
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            let valid = self.valid;
            map.retain(|_, (at, _)| at.elapsed() < valid);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key.clone(), (Instant::now(), v.clone()));
        Ok(v)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // A panic elsewhere cannot leave the map half-changed: take it anyway.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_while_valid_errors_not_kept() {
        let c: Cache<u32, u32> = Cache::new(Duration::from_millis(50));
        assert_eq!(c.get(&1, || Ok::<_, ()>(10)), Ok(10));
        assert_eq!(c.get(&1, || Ok::<_, ()>(11)), Ok(10));
        assert_eq!(c.get(&2, || Err::<u32, _>("no")), Err("no"));
        assert_eq!(c.get(&2, || Ok::<_, ()>(20)), Ok(20));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get(&1, || Ok::<_, ()>(12)), Ok(12));
    }
}
