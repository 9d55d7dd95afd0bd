// JSON Schema to GBNF. Supported: type (one or a list), properties / required /
// additionalProperties, enum / const, items / minItems / maxItems, $ref into $defs or definitions
// (recursion allowed), anyOf / oneOf (oneOf is generated as anyOf: the branches should not
// overlap), allOf with a single schema, minLength / maxLength, pattern (the regex subset of
// regex_to_gbnf.hpp, anchored: JSON Schema patterns search, so an unanchored end allows any text
// there), format date / time / date-time / uuid / ipv4, integer minimum / maximum and
// exclusiveMinimum / exclusiveMaximum. Annotations (title, description, default, examples,
// $schema, $id, $comment) are accepted. Any other keyword is an error naming it and where it is.
//
// The grammar emits properties in the order the schema lists them, and leaves out properties the
// schema does not list unless additionalProperties asks for them: every output is valid, though
// not every valid document can be produced.
#pragma once

#include <string>
#include <string_view>

namespace llama3::grammar {

std::string json_schema_to_gbnf(std::string_view schema);

}  // namespace llama3::grammar
