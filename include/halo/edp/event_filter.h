// The filter language of a RequisitionSpec: which events of an event group
// count, as an expression over the events' template fields, e.g.
//
//     age >= 18 && gender == "F"
//     (region == "north" || region == "east") && !(age < 25)
//
// Grammar (usual precedence: ! above comparisons above && above ||):
//   expression := or
//   or         := and ( "||" and )*
//   and        := unary ( "&&" unary )*
//   unary      := "!" unary | comparison
//   comparison := operand ( ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) operand )?
//   operand    := "(" expression ")" | field | integer | "string" | true | false
// A field is a name of letters, digits and '_' not starting with a digit.
// Integers are 64-bit and may be negative; strings are in double quotes with
// \" and \\ escapes. Comparisons take two operands of one type; strings
// compare only with == and !=; a comparison or true/false is a condition,
// and only conditions combine with &&, || and !. An empty filter matches
// every event.
#ifndef HALO_EDP_EVENT_FILTER_H_
#define HALO_EDP_EVENT_FILTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/edp/events.h"

namespace halo::edp {

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
  // Refuses a syntax or type error, naming its character position.
  static absl::StatusOr<EventFilter> Parse(absl::string_view expression);

  // Refuses a field `schema` does not have or whose type does not fit, naming
  // the field; FAILED_PRECONDITION, as the data, not the filter, lacks it.
  absl::StatusOr<BoundEventFilter> Bind(const EventSchema& schema) const;

  const std::string& expression() const { return expression_; }

 private:
  EventFilter(std::string expression, std::shared_ptr<const FilterNode> root)
      : expression_(std::move(expression)), root_(std::move(root)) {}
  std::string expression_;
  std::shared_ptr<const FilterNode> root_;  // null: every event
};

}  // namespace halo::edp

#endif  // HALO_EDP_EVENT_FILTER_H_
