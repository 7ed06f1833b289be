// The filter language of a RequisitionSpec: which events of an event group
// count, as an expression over the events' template fields, e.g.
//
//     age >= 18 && gender == "F"
//     (region == "north" || region == "east") && !(age < 25)
//     video_ad.viewed_fraction >= 0.25 && person.gender in ["F", "X"]
//     banner_ad.viewable && !person.is_test
//
// Grammar (usual precedence: ! above comparisons above && above ||):
//   expression := or
//   or         := and ( "||" and )*
//   and        := unary ( "&&" unary )*
//   unary      := "!" unary | comparison
//   comparison := operand ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) operand
//                         | "in" list )?
//   operand    := "(" expression ")" | field | number | "string" | true | false
//   list       := "[" ( literal ( "," literal )* )? "]"
//   field      := name ( "." name )*     name := [A-Za-z_][A-Za-z0-9_]*
// Numbers are 64-bit integers or decimals ("0.25", "-3", "1e-3"); strings
// are in double quotes with \" and \\ escapes. Fields are int, double,
// string or bool, as the event files declare them.
//  - Numbers compare with every operator; an int and a double compare as
//    numbers (2 == 2.0; integers beyond 2^53 lose their last digits there).
//  - Strings and bools compare only with == and !=.
//  - `field in [...]` holds when the field equals one of the literals, all of
//    the field's type (strings, or numbers).
//  - A bool field, true and false, and every comparison are conditions;
//    only conditions combine with &&, || and !.
// An empty filter matches every event.
//
// Bounds, because a filter comes from another party: at most
// kMaxFilterLength characters and kMaxFilterDepth levels of nesting
// (parentheses and !); a longer or deeper filter is refused with a message,
// before anything is built from it.
#ifndef HALO_EDP_EVENT_FILTER_H_
#define HALO_EDP_EVENT_FILTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/edp/events.h"

namespace halo::edp {

inline constexpr size_t kMaxFilterLength = 4096;
inline constexpr int kMaxFilterDepth = 64;

struct FilterNode;

// A filter bound to one schema: it knows each field's column.
class BoundEventFilter {
 public:
  // Sets keep[i] to 1 where row i matches and 0 elsewhere.
  void Evaluate(const EventBatch& batch, std::vector<uint8_t>& keep) const;

  struct Step;  // one node of the bound expression, defined where it is evaluated

 private:
  friend class EventFilter;
  explicit BoundEventFilter(std::shared_ptr<const Step> root) : root_(std::move(root)) {}
  std::shared_ptr<const Step> root_;
};

class EventFilter {
 public:
  // Refuses a syntax or type error, naming its character position, and a
  // filter beyond the bounds above.
  static absl::StatusOr<EventFilter> Parse(absl::string_view expression);

  // Refuses a field `schema` does not have or whose type does not fit, naming
  // the field; FAILED_PRECONDITION, as the data, not the filter, lacks it.
  absl::StatusOr<BoundEventFilter> Bind(const EventSchema& schema) const;

  // This filter with every comparison that reads a field outside `fields`
  // taken as true, once negations are pushed down to the comparisons: it
  // matches every event the filter could match, whatever the other fields
  // hold. The privacy budget charges the demographic cells it matches.
  EventFilter Relaxed(const std::vector<std::string>& fields) const;

  // The strings and numbers the filter compares fields with: the values
  // where what it matches can change, for trying it on representatives.
  struct Literals {
    std::vector<std::string> strings;
    std::vector<double> numbers;
  };
  Literals LiteralValues() const;

  const std::string& expression() const { return expression_; }

 private:
  EventFilter(std::string expression, std::shared_ptr<const FilterNode> root)
      : expression_(std::move(expression)), root_(std::move(root)) {}
  std::string expression_;
  std::shared_ptr<const FilterNode> root_;  // null: every event
};

}  // namespace halo::edp

#endif  // HALO_EDP_EVENT_FILTER_H_
