//! `Signature-Input` read once, borrowing from the field: each label's
//! covered components and signature parameters, without building `sfv`'s
//! owned dictionary (per-member strings and hashed maps cost more than the
//! rest of the signature base together).

use std::convert::Infallible;

use sfv::{BareItemFromInput, KeyRef, Parser, visitor};

use super::refused;
use crate::error::{Error, Escaped};

/// Parameters as received, in order. A repeated name keeps its first
/// place and its last value, as RFC 9651's parsing algorithm does.
#[derive(Debug, Default)]
pub(super) struct Params<'a>(Vec<(&'a str, BareItemFromInput<'a>)>);

impl<'a> Params<'a> {
    pub(super) fn get(&self, name: &str) -> Option<&BareItemFromInput<'a>> {
        self.0.iter().find(|(key, _)| *key == name).map(|(_, v)| v)
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &(&'a str, BareItemFromInput<'a>)> {
        self.0.iter()
    }

    /// The string parameter `name`, if present.
    pub(super) fn string(&self, name: &str) -> Result<Option<&str>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_string()
                .map(|s| Some(s.as_str()))
                .ok_or_else(|| refused(format!("the {name} parameter is not a string"))),
        }
    }
}

impl<'de> visitor::ParameterVisitor<'de> for &mut Params<'de> {
    type Out = ();
    type Error = Infallible;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Infallible> {
        match self.0.iter_mut().find(|(k, _)| *k == key.as_str()) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.as_str(), value)),
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Infallible> {
        Ok(())
    }
}

/// One covered component: its name (a string when well formed) and its
/// parameters (`req`, `key`, `sf`, `bs`, `name`).
#[derive(Debug)]
pub(super) struct Component<'a> {
    pub(super) name: BareItemFromInput<'a>,
    pub(super) params: Params<'a>,
}

/// One signature's inner list: what it covers and its parameters.
#[derive(Debug, Default)]
pub(super) struct Input<'a> {
    pub(super) components: Vec<Component<'a>>,
    pub(super) params: Params<'a>,
}

/// Every member of a `Signature-Input` field, in order.
#[derive(Debug, Default)]
pub(super) struct Inputs<'a> {
    /// Each label with its inner list (`None`: the member is a bare item).
    entries: Vec<(&'a str, Option<Input<'a>>)>,
}

impl<'a> Inputs<'a> {
    /// Parses `field` as a structured dictionary. A label that appears
    /// twice is refused: which of the two is meant cannot be known.
    pub(super) fn parse(field: &'a str, name: &str) -> Result<Self, Error> {
        let (inputs, repeated) = Parser::new(field)
            .parse_dictionary_with_visitor(Collect::default())
            .map_err(|e| refused(format!("{name} is not a structured dictionary: {e}")))?;
        if let Some(label) = repeated {
            return Err(refused(format!(
                "{name} repeats a label ({})",
                Escaped::new(label)
            )));
        }
        Ok(inputs)
    }

    pub(super) fn labels(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.entries.iter().map(|(label, _)| *label)
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The inner list labelled `label`.
    pub(super) fn get(&self, label: &str) -> Result<&Input<'a>, Error> {
        match self.entries.iter().find(|(l, _)| *l == label) {
            Some((_, Some(input))) => Ok(input),
            _ => Err(refused(format!(
                "Signature-Input has no inner list labelled {}",
                Escaped::new(label)
            ))),
        }
    }

    /// The one inner list there is (a component list being read).
    pub(super) fn into_only(self) -> Option<Input<'a>> {
        match <[_; 1]>::try_from(self.entries) {
            Ok([(_, input)]) => input,
            Err(_) => None,
        }
    }

    /// The labels of the inner lists whose `tag` is `tag`.
    pub(super) fn tagged(&self, tag: &str) -> Vec<&'a str> {
        self.entries
            .iter()
            .filter(|(_, input)| {
                input.as_ref().is_some_and(|input| {
                    input
                        .params
                        .get("tag")
                        .and_then(|t| t.as_string())
                        .is_some_and(|t| t.as_str() == tag)
                })
            })
            .map(|(label, _)| *label)
            .collect()
    }
}

/// The dictionary visitor: entries in order, and the first repeated label.
#[derive(Default)]
struct Collect<'de> {
    inputs: Inputs<'de>,
    repeated: Option<&'de str>,
}

impl<'de> visitor::DictionaryVisitor<'de> for Collect<'de> {
    type Out = (Inputs<'de>, Option<&'de str>);
    type Error = Infallible;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl visitor::EntryVisitor<'de>, Infallible> {
        let label = key.as_str();
        let entries = &mut self.inputs.entries;
        if entries.iter().any(|(l, _)| *l == label) {
            self.repeated.get_or_insert(label);
            entries.retain(|(l, _)| *l != label);
        }
        entries.push((label, None));
        let last = entries.len() - 1;
        Ok(EntrySlot(&mut entries[last].1))
    }

    fn finish(self) -> Result<Self::Out, Infallible> {
        Ok((self.inputs, self.repeated))
    }
}

/// Where one member's inner list goes.
struct EntrySlot<'s, 'de>(&'s mut Option<Input<'de>>);

impl<'de> visitor::EntryVisitor<'de> for EntrySlot<'_, 'de> {
    type Error = Infallible;

    fn item(self) -> Result<impl visitor::ItemVisitor<'de>, Infallible> {
        Ok(visitor::Ignored)
    }

    fn inner_list(self) -> Result<impl visitor::InnerListVisitor<'de>, Infallible> {
        Ok(self.0.insert(Input::default()))
    }
}

impl<'de> visitor::InnerListVisitor<'de> for &mut Input<'de> {
    type Error = Infallible;

    fn item(&mut self) -> Result<impl visitor::ItemVisitor<'de>, Infallible> {
        Ok(ComponentSlot {
            components: &mut self.components,
        })
    }

    fn finish(self) -> Result<impl visitor::ParameterVisitor<'de>, Infallible> {
        Ok(&mut self.params)
    }
}

/// A component being read: its name first, then its parameters.
struct ComponentSlot<'s, 'de> {
    components: &'s mut Vec<Component<'de>>,
}

impl<'de> visitor::ItemVisitor<'de> for ComponentSlot<'_, 'de> {
    type Out = ();
    type Error = Infallible;

    fn bare_item(
        self,
        name: BareItemFromInput<'de>,
    ) -> Result<impl visitor::ParameterVisitor<'de, Out = ()>, Infallible> {
        self.components.push(Component {
            name,
            params: Params::default(),
        });
        let last = self.components.len() - 1;
        Ok(&mut self.components[last].params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names<'a>(input: &'a Input<'_>) -> Vec<&'a str> {
        input
            .components
            .iter()
            .map(|c| c.name.as_string().map_or("?", |s| s.as_str()))
            .collect()
    }

    #[test]
    fn members_components_and_parameters_in_order() {
        let field =
            r#"a=("@method" "signature";req;key="b");created=1;keyid="k";tag="t", b=("@status")"#;
        let inputs = Inputs::parse(field, "Signature-Input").unwrap();
        assert_eq!(inputs.labels().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(inputs.len(), 2);
        let a = inputs.get("a").unwrap();
        assert_eq!(names(a), ["@method", "signature"]);
        let signature = &a.components[1].params;
        assert!(signature.contains("req"));
        assert_eq!(signature.string("key").unwrap(), Some("b"));
        let order: Vec<&str> = a.params.iter().map(|(k, _)| *k).collect();
        assert_eq!(order, ["created", "keyid", "tag"]);
        assert_eq!(
            a.params.get("created").and_then(|c| c.as_integer()),
            Some(1.into())
        );
        assert!(
            a.params.string("created").is_err(),
            "an integer is not a string"
        );
        assert_eq!(inputs.tagged("t"), ["a"]);
        assert!(inputs.tagged("u").is_empty());
    }

    #[test]
    fn a_repeated_parameter_keeps_its_first_place_and_last_value() {
        let inputs =
            Inputs::parse(r#"a=("x";name="1";req;name="2");created=1;created=2"#, "f").unwrap();
        let a = inputs.get("a").unwrap();
        let params: Vec<&str> = a.components[0].params.iter().map(|(k, _)| *k).collect();
        assert_eq!(params, ["name", "req"]);
        assert_eq!(a.components[0].params.string("name").unwrap(), Some("2"));
        assert_eq!(
            a.params.get("created").and_then(|c| c.as_integer()),
            Some(2.into())
        );
    }

    #[test]
    fn refusals() {
        let refused = |result: Result<Inputs<'_>, Error>, fragment: &str| match result {
            Err(e) => assert!(e.to_string().contains(fragment), "{e}"),
            Ok(inputs) => panic!("accepted: {inputs:?}"),
        };
        refused(
            Inputs::parse(r#"a=("x"), b=("y"), a=("z")"#, "Signature-Input"),
            "repeats a label (\"a\")",
        );
        refused(
            Inputs::parse(r#"a=("x""#, "Signature-Input"),
            "not a structured dictionary",
        );
        let bare = Inputs::parse(r#"a="x", b=("y")"#, "Signature-Input").unwrap();
        assert!(
            bare.get("a")
                .unwrap_err()
                .to_string()
                .contains("no inner list labelled")
        );
        assert!(bare.get("c").is_err());
        assert!(bare.into_only().is_none(), "two members are not one list");
    }
}
