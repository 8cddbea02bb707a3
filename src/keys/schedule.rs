//! The signing-key lifecycle, as one rule over activation times: the key that signs is the one
//! activated last, up to now. A key is published from the moment it is stored; a scheduled
//! key starts signing a publish lead later; a key that stopped signing keeps verifying until
//! every token it signed has expired, then is withdrawn. Every instance computes the same
//! answer from the same records, so a scheduled switch needs no write at the moment it
//! happens. Times are Unix milliseconds; nothing here reads a clock or a database.

use crate::config::KeyLifecycle;

/// What the lifecycle needs to know of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledKey {
    /// When it signs (or signed) from; `None`: a standby key, published but never signing
    /// until activated.
    pub activates_at: Option<i64>,
    /// Whether its activation is in the audit trail yet.
    pub activation_recorded: bool,
}

/// Where a key is in its life at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, verifying, not scheduled to sign.
    Standby,
    /// Published; signs from `signs_from`.
    Pending { signs_from: i64 },
    /// Signs every new token.
    Active { since: i64 },
    /// Verifies what it signed until `withdraw_at`, then leaves the key set.
    Retired { since: i64, withdraw_at: i64 },
}

impl KeyState {
    /// The name the command line and the admin API show.
    pub fn name(self) -> &'static str {
        match self {
            KeyState::Standby => "standby",
            KeyState::Pending { .. } => "pending",
            KeyState::Active { .. } => "active",
            KeyState::Retired { .. } => "retired",
        }
    }
}

/// The key that signs at `now`: the latest activation not after `now` (the later position
/// wins a tie). Before any activation has come (a clock behind the one that activated the
/// first key), the earliest to come.
pub fn signing(activations: &[Option<i64>], now: i64) -> Option<usize> {
    let activated = activations
        .iter()
        .enumerate()
        .filter_map(|(i, at)| at.map(|at| (at, i)));
    activated
        .clone()
        .filter(|(at, _)| *at <= now)
        .max()
        .or_else(|| activated.min())
        .map(|(_, i)| i)
}

/// Each key's state at `now`.
pub fn states(activations: &[Option<i64>], now: i64, withdraw_after_ms: i64) -> Vec<KeyState> {
    let signer = signing(activations, now);
    activations
        .iter()
        .enumerate()
        .map(|(i, at)| match *at {
            None => KeyState::Standby,
            Some(at) if Some(i) == signer => KeyState::Active { since: at },
            Some(at) if at > now => KeyState::Pending { signs_from: at },
            Some(at) => {
                // It stopped signing when the next later activation came. (Keys activated at
                // the same moment, as a folder's verifying keys are imported, all stop at the
                // next one; one that lost a tie never signed, and counts from its own.)
                let since = activations
                    .iter()
                    .flatten()
                    .copied()
                    .filter(|&other| other > at && other <= now)
                    .min()
                    .unwrap_or(at);
                KeyState::Retired {
                    since,
                    withdraw_at: since.saturating_add(withdraw_after_ms),
                }
            }
        })
        .collect()
}

/// A key to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Successor {
    /// The key it succeeds; `None` for the first key of an empty store. Only one successor
    /// of each key can be stored (a unique index), so instances racing to create it make one.
    pub of: Option<usize>,
    pub activates_at: i64,
}

/// What the lifecycle asks for at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub successor: Option<Successor>,
    /// Retired keys whose last token has expired.
    pub withdraw: Vec<usize>,
    /// Keys that started signing without that being recorded yet.
    pub record_activation: Vec<usize>,
}

/// What to do at `now`.
pub fn plan(keys: &[ScheduledKey], lifecycle: &KeyLifecycle, now: i64) -> Plan {
    let activations: Vec<Option<i64>> = keys.iter().map(|k| k.activates_at).collect();
    let states = states(&activations, now, millis(lifecycle.withdraw_after));
    let mut plan = Plan::default();
    if keys.is_empty() {
        plan.successor = Some(Successor {
            of: None,
            activates_at: now,
        });
        return plan;
    }
    let pending = states.iter().any(|s| matches!(s, KeyState::Pending { .. }));
    if let (Some(interval), Some(active), false) = (
        lifecycle.rotation_interval,
        signing(&activations, now),
        pending,
    ) {
        if let KeyState::Active { since } = states[active] {
            let due = since.saturating_add(millis(interval));
            let lead = millis(lifecycle.publish_lead);
            if now >= due.saturating_sub(lead) {
                plan.successor = Some(Successor {
                    of: Some(active),
                    // Published a whole lead before it signs, even when the schedule is late.
                    activates_at: due.max(now.saturating_add(lead)),
                });
            }
        }
    }
    for (i, state) in states.iter().enumerate() {
        match state {
            KeyState::Retired { withdraw_at, .. } if *withdraw_at <= now => {
                plan.withdraw.push(i);
            }
            KeyState::Active { .. } | KeyState::Retired { .. } => {
                if !keys[i].activation_recorded {
                    plan.record_activation.push(i);
                }
            }
            KeyState::Standby | KeyState::Pending { .. } => {}
        }
    }
    plan
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const SEC: i64 = 1000;

    fn lifecycle(rotation_secs: u64) -> KeyLifecycle {
        KeyLifecycle {
            rotation_interval: (rotation_secs > 0).then(|| Duration::from_secs(rotation_secs)),
            publish_lead: Duration::from_secs(300),
            withdraw_after: Duration::from_secs(910),
            fleet_delay: Duration::from_secs(2),
        }
    }

    fn key(at: Option<i64>) -> ScheduledKey {
        ScheduledKey {
            activates_at: at,
            activation_recorded: true,
        }
    }

    #[test]
    fn the_latest_activation_up_to_now_signs() {
        let activations = [Some(0), Some(100 * SEC), None, Some(500 * SEC)];
        assert_eq!(signing(&activations, 50 * SEC), Some(0));
        assert_eq!(signing(&activations, 100 * SEC), Some(1));
        assert_eq!(signing(&activations, 499 * SEC), Some(1));
        assert_eq!(signing(&activations, 500 * SEC), Some(3));
        // A clock behind every activation still has a key to sign with.
        assert_eq!(signing(&activations, -SEC), Some(0));
        assert_eq!(signing(&[None], 0), None);
    }

    #[test]
    fn states_follow_the_activations() {
        let activations = [Some(0), Some(100 * SEC), None, Some(500 * SEC)];
        let states = states(&activations, 200 * SEC, 910 * SEC);
        assert_eq!(
            states,
            vec![
                KeyState::Retired {
                    since: 100 * SEC,
                    withdraw_at: 1010 * SEC
                },
                KeyState::Active { since: 100 * SEC },
                KeyState::Standby,
                KeyState::Pending {
                    signs_from: 500 * SEC
                },
            ]
        );
    }

    #[test]
    fn keys_activated_at_one_moment_retire_together() {
        // Imported from a folder: two verifying keys at the epoch, the signing one later.
        let activations = [Some(0), Some(0), Some(1_000 * SEC)];
        let states = states(&activations, 1_100 * SEC, 910 * SEC);
        let retired = KeyState::Retired {
            since: 1_000 * SEC,
            withdraw_at: 1_910 * SEC,
        };
        assert_eq!(states[0], retired);
        assert_eq!(states[1], retired);
        assert_eq!(states[2], KeyState::Active { since: 1_000 * SEC });
    }

    #[test]
    fn a_successor_is_published_one_lead_before_it_signs() {
        let keys = [key(Some(0))];
        // 3600 s rotation, 300 s lead: nothing until 3300 s.
        assert_eq!(plan(&keys, &lifecycle(3600), 3299 * SEC).successor, None);
        assert_eq!(
            plan(&keys, &lifecycle(3600), 3300 * SEC).successor,
            Some(Successor {
                of: Some(0),
                activates_at: 3600 * SEC
            })
        );
        // Late (the servers were down): still a whole lead of publication.
        assert_eq!(
            plan(&keys, &lifecycle(3600), 9000 * SEC).successor,
            Some(Successor {
                of: Some(0),
                activates_at: 9300 * SEC
            })
        );
        // Once one is pending, no second.
        let with_pending = [key(Some(0)), key(Some(3600 * SEC))];
        assert_eq!(
            plan(&with_pending, &lifecycle(3600), 3400 * SEC).successor,
            None
        );
        // No schedule, no successor.
        assert_eq!(plan(&keys, &lifecycle(0), 9000 * SEC).successor, None);
    }

    #[test]
    fn a_retired_key_is_withdrawn_after_its_last_token_expired() {
        let keys = [key(Some(0)), key(Some(3600 * SEC))];
        let at = |secs| plan(&keys, &lifecycle(0), secs * SEC).withdraw;
        assert!(at(3600 + 909).is_empty());
        assert_eq!(at(3600 + 910), vec![0]);
        // Standby keys stay until removed.
        let standby = [key(None), key(Some(0))];
        assert!(plan(&standby, &lifecycle(0), 1_000_000 * SEC)
            .withdraw
            .is_empty());
    }

    #[test]
    fn an_empty_store_gets_a_first_key_and_activations_are_recorded_once() {
        assert_eq!(
            plan(&[], &lifecycle(0), 7).successor,
            Some(Successor {
                of: None,
                activates_at: 7
            })
        );
        let unrecorded = ScheduledKey {
            activates_at: Some(100 * SEC),
            activation_recorded: false,
        };
        let keys = [key(Some(0)), unrecorded];
        assert!(plan(&keys, &lifecycle(0), 99 * SEC)
            .record_activation
            .is_empty());
        assert_eq!(
            plan(&keys, &lifecycle(0), 100 * SEC).record_activation,
            vec![1]
        );
    }
}
