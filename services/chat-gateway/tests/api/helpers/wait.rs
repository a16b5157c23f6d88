//! How long tests wait to be sure something does not happen (what should happen is waited
//! for with `shared::testing::eventually`).

use std::time::Duration;

/// How long a test listens to be sure something does *not* happen.
pub const QUIET: Duration = Duration::from_millis(400);
