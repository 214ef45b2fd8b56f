//! The history entry of one key of a tenant.

use std::time::SystemTime;

use crate::Algorithm;

/// One key a tenant has or had: what it was, who added and retired it, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The key id, unique within the tenant for ever.
    pub kid: String,
    /// The algorithm the key is bound to.
    pub algorithm: Algorithm,
    /// The RFC 7638 thumbprint of the public key, when its material is known.
    pub thumbprint: Option<String>,
    /// When the key stops verifying, if it has an expiry.
    pub expires_at: Option<SystemTime>,
    /// When it was added.
    pub added_at: SystemTime,
    /// Who added it.
    pub added_by: String,
    /// When it was retired; `None` while it is active.
    pub retired_at: Option<SystemTime>,
    /// Who retired it.
    pub retired_by: Option<String>,
}

impl KeyRecord {
    /// True while the key is active (not retired).
    pub fn is_active(&self) -> bool {
        self.retired_at.is_none()
    }
}
