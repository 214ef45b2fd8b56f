//! Strict JSON in the same pass that builds the value: a serde
//! [`Deserializer`] around serde_json's that records each object's member
//! names as the target type reads them and refuses a duplicate when the
//! object closes, and refuses nesting deeper than the limit. Values the
//! target ignores are still walked, so nothing escapes the check.
//!
//! Names go into one buffer shared by all open objects; an object's names
//! are sorted and compared when it closes: no hashing, O(n log n) whatever
//! names an attacker picks, and O(n) for names that arrive in order.
//!
//! A key that the target reads as something other than a string (a map
//! keyed by numbers, say) leaves its name unrecorded; the pass then says
//! so ([`Pass::unsure`]) and the caller runs the byte scan
//! ([`super::check_structure`]) as well.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::fmt;

use serde_json::value::RawValue;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use crate::Error;
use crate::error::{Escaped, Malformed, Segment};

/// What a pass found, kept aside because serde errors are only strings.
enum Fault {
    Duplicate(String),
    TooDeep,
}

/// The member names of every open object, innermost last, as sort keys
/// (length and first eight bytes, which are the whole name for names of
/// up to eight bytes), and longer names themselves.
struct Names<'de> {
    keys: Vec<u128>,
    long: Vec<Cow<'de, str>>,
}

/// Where an object's names start in [`Names`].
#[derive(Clone, Copy, PartialEq)]
struct Start {
    keys: usize,
    long: usize,
}

/// The sort key of `name` (a `const fn`, so the claim names' keys are
/// computed by the same code at compile time).
#[inline]
const fn key_of(name: &str) -> u128 {
    let bytes = name.as_bytes();
    let head = match bytes.first_chunk::<8>() {
        Some(head) => u64::from_be_bytes(*head),
        None => {
            let mut head = 0;
            let mut i = 0;
            while i < bytes.len() {
                head |= (bytes[i] as u64) << (56 - 8 * i);
                i += 1;
            }
            head
        }
    };
    (bytes.len() as u128) << 64 | head as u128
}

/// The name of up to eight bytes whose key is `key`.
fn short_name(key: u128) -> String {
    let len = (key >> 64) as usize;
    let head = (key as u64).to_be_bytes();
    String::from_utf8_lossy(&head[..len.min(8)]).into_owned()
}

/// The raw text of each registered JWT claim (RFC 7519 4.1) a pass
/// captured from the top-level object: `exp`, `nbf`, `iat`, `aud`, `iss`,
/// `jti`, in that order ([`CLAIM_KEYS`]).
pub(crate) type CapturedClaims<'de> = [Option<&'de RawValue>; 6];

const CLAIM_KEYS: [u128; 6] = [
    key_of("exp"),
    key_of("nbf"),
    key_of("iat"),
    key_of("aud"),
    key_of("iss"),
    key_of("jti"),
];

/// Room for this many names is made once, at the start of a pass.
const TYPICAL_MEMBERS: usize = 64;

/// The state of one strict pass over one document.
pub(super) struct Pass<'de> {
    max_depth: usize,
    names: RefCell<Names<'de>>,
    fault: RefCell<Option<Fault>>,
    unsure: Cell<bool>,
    /// The key of the name recorded last.
    last: Cell<u128>,
    /// Where the top-level object's claims go, when the caller wants them.
    claims: Option<RefCell<CapturedClaims<'de>>>,
}

impl<'de> Pass<'de> {
    /// A pass that also keeps the raw text of the top-level object's
    /// registered claims, whatever the target type reads of them.
    pub(super) fn capturing_claims(max_depth: usize) -> Self {
        Pass {
            claims: Some(RefCell::new([None; 6])),
            ..Pass::new(max_depth)
        }
    }

    /// The claims captured (all `None` when not capturing).
    pub(super) fn captured(&self) -> CapturedClaims<'de> {
        self.claims
            .as_ref()
            .map_or([None; 6], |claims| *claims.borrow())
    }

    pub(super) fn new(max_depth: usize) -> Self {
        Pass {
            max_depth,
            names: RefCell::new(Names {
                keys: Vec::with_capacity(TYPICAL_MEMBERS),
                long: Vec::new(),
            }),
            fault: RefCell::new(None),
            unsure: Cell::new(false),
            last: Cell::new(0),
            claims: None,
        }
    }

    /// The depth limit of this pass.
    pub(super) fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// True when some key's name went unrecorded: only the byte scan can
    /// vouch for duplicates then.
    pub(super) fn unsure(&self) -> bool {
        self.unsure.get()
    }

    /// The error for what the pass found, if it found anything.
    pub(super) fn fault(self, part: Segment) -> Option<Error> {
        self.fault.into_inner().map(|fault| match fault {
            Fault::Duplicate(name) => Malformed::DuplicateMember {
                part,
                name: Escaped::new(&name),
            }
            .into(),
            Fault::TooDeep => Malformed::TooDeep {
                part,
                limit: self.max_depth,
            }
            .into(),
        })
    }

    fn fail<E: de::Error>(&self, fault: Fault) -> E {
        *self.fault.borrow_mut() = Some(fault);
        E::custom("strict JSON check failed")
    }

    /// Records a member name; `keep` gives it to keep, when it is longer
    /// than its key.
    #[inline]
    fn record(&self, name: &str, keep: impl FnOnce() -> Cow<'de, str>) {
        let mut names = self.names.borrow_mut();
        let key = key_of(name);
        self.last.set(key);
        names.keys.push(key);
        if name.len() > 8 {
            names.long.push(keep());
        }
    }

    /// Where the next object's names start.
    fn recorded(&self) -> Start {
        let names = self.names.borrow();
        Start {
            keys: names.keys.len(),
            long: names.long.len(),
        }
    }

    /// Closes the object whose names start at `start`.
    fn close<E: de::Error>(&self, start: Start) -> Result<(), E> {
        let mut recorded = self.names.borrow_mut();
        let Names { keys, long } = &mut *recorded;
        let duplicate = duplicate(&mut keys[start.keys..], &mut long[start.long..]);
        keys.truncate(start.keys);
        long.truncate(start.long);
        drop(recorded);
        match duplicate {
            Some(name) => Err(self.fail(Fault::Duplicate(name))),
            None => Ok(()),
        }
    }
}

/// A name that occurs twice in one object, given its names' keys and its
/// names longer than eight bytes (both sorted here). Equal keys are equal
/// names up to eight bytes; beyond, they only share length and first eight
/// bytes, and the long names themselves are compared. O(n log n) whatever
/// names an attacker picks.
fn duplicate(keys: &mut [u128], long: &mut [Cow<'_, str>]) -> Option<String> {
    if keys.len() < 2 {
        return None;
    }
    keys.sort_unstable();
    let mut long_alike = false;
    for pair in keys.windows(2) {
        if pair[0] == pair[1] {
            if pair[0] >> 64 <= 8 {
                return Some(short_name(pair[0]));
            }
            long_alike = true;
        }
    }
    if !long_alike {
        return None;
    }
    long.sort_unstable();
    long.windows(2)
        .find(|pair| pair[0] == pair[1])
        .map(|pair| pair[0].to_string())
}

/// A value at `depth` (the number of containers around it).
pub(super) struct Strict<'p, 'de, D> {
    de: D,
    pass: &'p Pass<'de>,
    depth: usize,
}

impl<'p, 'de, D> Strict<'p, 'de, D> {
    pub(super) fn new(de: D, pass: &'p Pass<'de>) -> Self {
        Strict { de, pass, depth: 0 }
    }
}

/// The visitor of a value at `depth`, handing containers on wrapped.
struct Wrap<'p, 'de, V> {
    inner: V,
    pass: &'p Pass<'de>,
    depth: usize,
}

/// Calls `$forward!` with every `Deserializer` method but
/// `deserialize_ignored_any` and `is_human_readable`, and their arguments.
macro_rules! deserialize_methods {
    ($forward:ident) => {
        $forward! {
            deserialize_any()
            deserialize_bool()
            deserialize_i8()
            deserialize_i16()
            deserialize_i32()
            deserialize_i64()
            deserialize_i128()
            deserialize_u8()
            deserialize_u16()
            deserialize_u32()
            deserialize_u64()
            deserialize_u128()
            deserialize_f32()
            deserialize_f64()
            deserialize_char()
            deserialize_str()
            deserialize_string()
            deserialize_bytes()
            deserialize_byte_buf()
            deserialize_option()
            deserialize_unit()
            deserialize_unit_struct(name: &'static str)
            deserialize_newtype_struct(name: &'static str)
            deserialize_seq()
            deserialize_tuple(len: usize)
            deserialize_tuple_struct(name: &'static str, len: usize)
            deserialize_map()
            deserialize_struct(name: &'static str, fields: &'static [&'static str])
            deserialize_enum(name: &'static str, variants: &'static [&'static str])
            deserialize_identifier()
        }
    };
}

macro_rules! forward_wrapped {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.de.$method($($arg,)* Wrap { inner: visitor, pass: self.pass, depth: self.depth })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Strict<'_, 'de, D> {
    type Error = D::Error;

    deserialize_methods!(forward_wrapped);

    /// What the target ignores is still walked and checked.
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.deserialize_any(visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// Calls `$forward!` with every `Visitor` method that takes a plain value,
/// but the three that take strings.
macro_rules! visit_methods {
    ($forward:ident) => {
        $forward! {
            visit_bool(bool)
            visit_i8(i8)
            visit_i16(i16)
            visit_i32(i32)
            visit_i64(i64)
            visit_i128(i128)
            visit_u8(u8)
            visit_u16(u16)
            visit_u32(u32)
            visit_u64(u64)
            visit_u128(u128)
            visit_f32(f32)
            visit_f64(f64)
            visit_char(char)
            visit_bytes(&[u8])
            visit_borrowed_bytes(&'de [u8])
            visit_byte_buf(Vec<u8>)
        }
    };
}

macro_rules! forward_visits {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    visit_methods!(forward_visits);
    forward_visits! {
        visit_str(&str)
        visit_borrowed_str(&'de str)
        visit_string(String)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_some(Strict {
            de: d,
            pass: self.pass,
            depth: self.depth,
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.inner.visit_newtype_struct(Strict {
            de: d,
            pass: self.pass,
            depth: self.depth,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        if self.depth >= self.pass.max_depth {
            return Err(self.pass.fail(Fault::TooDeep));
        }
        self.inner.visit_seq(Seq {
            seq,
            pass: self.pass,
            depth: self.depth + 1,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        if self.depth >= self.pass.max_depth {
            return Err(self.pass.fail(Fault::TooDeep));
        }
        let start = self.pass.recorded();
        let value = self.inner.visit_map(Map {
            map,
            pass: self.pass,
            depth: self.depth + 1,
            start,
            claim: None,
        })?;
        // A visitor that stopped before the end: judge what it read.
        if self.pass.recorded() != start {
            self.pass.close(start)?;
        }
        Ok(value)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        // `{"Variant": value}` is an object around the value; at the limit,
        // whether this one is can only be told by the byte scan.
        if self.depth >= self.pass.max_depth {
            self.pass.unsure.set(true);
        }
        self.inner.visit_enum(Enum {
            data,
            pass: self.pass,
            depth: self.depth + 1,
        })
    }
}

/// Hands `seed` a [`Strict`] deserializer at `depth`.
struct Seed<'p, 'de, S> {
    seed: S,
    pass: &'p Pass<'de>,
    depth: usize,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Strict {
            de: d,
            pass: self.pass,
            depth: self.depth,
        })
    }
}

struct Seq<'p, 'de, A> {
    seq: A,
    pass: &'p Pass<'de>,
    depth: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<'_, 'de, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.seq.next_element_seed(Seed {
            seed,
            pass: self.pass,
            depth: self.depth,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

struct Map<'p, 'de, A> {
    map: A,
    pass: &'p Pass<'de>,
    depth: usize,
    start: Start,
    /// The registered claim whose value comes next (top level, capturing).
    claim: Option<usize>,
}

impl<'de, A: MapAccess<'de>> Map<'_, 'de, A> {
    /// A registered claim's value: kept as raw text (serde_json hands it
    /// out borrowed) and read by the target from that text.
    #[cold]
    #[inline(never)]
    fn capture<V: DeserializeSeed<'de>>(
        &mut self,
        slot: usize,
        seed: V,
    ) -> Result<V::Value, A::Error> {
        let raw: &'de RawValue = self.map.next_value()?;
        if let Some(claims) = &self.pass.claims {
            claims.borrow_mut()[slot] = Some(raw);
        }
        let mut de = serde_json::Deserializer::from_str(raw.get());
        seed.deserialize(Strict {
            de: &mut de,
            pass: self.pass,
            depth: self.depth,
        })
        .map_err(de::Error::custom)
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<'_, 'de, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let key = self.map.next_key_seed(KeySeed {
            seed,
            pass: self.pass,
        })?;
        match key {
            None => self.pass.close(self.start)?,
            Some(_) if self.depth == 1 && self.pass.claims.is_some() => {
                let last = self.pass.last.get();
                self.claim = CLAIM_KEYS.iter().position(|&claim| claim == last);
            }
            Some(_) => {}
        }
        Ok(key)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        if let Some(slot) = self.claim.take() {
            return self.capture(slot, seed);
        }
        self.map.next_value_seed(Seed {
            seed,
            pass: self.pass,
            depth: self.depth,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

struct Enum<'p, 'de, A> {
    data: A,
    pass: &'p Pass<'de>,
    depth: usize,
}

impl<'p, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<'p, 'de, A> {
    type Error = A::Error;
    type Variant = Variant<'p, 'de, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), A::Error> {
        let (value, variant) = self.data.variant_seed(seed)?;
        Ok((
            value,
            Variant {
                variant,
                pass: self.pass,
                depth: self.depth,
            },
        ))
    }
}

struct Variant<'p, 'de, A> {
    variant: A,
    pass: &'p Pass<'de>,
    depth: usize,
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<'_, 'de, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.variant.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.variant.newtype_variant_seed(Seed {
            seed,
            pass: self.pass,
            depth: self.depth,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.variant.tuple_variant(
            len,
            Wrap {
                inner: visitor,
                pass: self.pass,
                depth: self.depth,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.variant.struct_variant(
            fields,
            Wrap {
                inner: visitor,
                pass: self.pass,
                depth: self.depth,
            },
        )
    }
}

/// Reads a member name through the target's seed, recording it.
struct KeySeed<'p, 'de, S> {
    seed: S,
    pass: &'p Pass<'de>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, 'de, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(Key {
            de: d,
            pass: self.pass,
        })
    }
}

/// The deserializer of a member name.
struct Key<'p, 'de, D> {
    de: D,
    pass: &'p Pass<'de>,
}

/// The visitor of a member name: records it when it comes as a string.
struct Name<'p, 'de, V> {
    inner: V,
    pass: &'p Pass<'de>,
}

macro_rules! forward_named {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.de.$method($($arg,)* Name { inner: visitor, pass: self.pass })
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Key<'_, 'de, D> {
    type Error = D::Error;

    deserialize_methods!(forward_named);

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_ignored_any(Name {
            inner: visitor,
            pass: self.pass,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

macro_rules! forward_unsure {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.pass.unsure.set(true);
            self.inner.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Name<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        self.pass.record(v, || Cow::Borrowed(v));
        self.inner.visit_borrowed_str(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        self.pass.record(v, || Cow::Owned(v.to_owned()));
        self.inner.visit_str(v)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        self.pass.record(&v, || Cow::Owned(v.clone()));
        self.inner.visit_string(v)
    }

    // A name read as anything else is not recorded: the byte scan decides.
    visit_methods!(forward_unsure);

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.pass.unsure.set(true);
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.pass.unsure.set(true);
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.pass.unsure.set(true);
        self.inner.visit_some(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.pass.unsure.set(true);
        self.inner.visit_newtype_struct(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.pass.unsure.set(true);
        self.inner.visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.pass.unsure.set(true);
        self.inner.visit_map(map)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.pass.unsure.set(true);
        self.inner.visit_enum(data)
    }
}
