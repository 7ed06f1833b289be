#include "halo/edp/event_filter.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::edp {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

struct FilterOperand {
  enum class Kind { kField, kInt, kString } kind = Kind::kInt;
  std::string text;  // field name or string value
  int64_t number = 0;
  size_t position = 0;
};

struct FilterNode {
  enum class Kind { kOr, kAnd, kNot, kCompare, kConstant } kind = Kind::kConstant;
  std::shared_ptr<const FilterNode> left, right;  // kOr, kAnd; kNot uses left
  CompareOp op = CompareOp::kEq;
  FilterOperand a, b;
  bool constant = true;
};

struct BoundEventFilter::Step {
  FilterNode::Kind kind = FilterNode::Kind::kConstant;
  std::shared_ptr<const Step> left, right;
  CompareOp op = CompareOp::kEq;
  bool strings = false;    // compares strings (else integers)
  int column_a = -1, column_b = -1;  // -1: the literal below
  int64_t number_a = 0, number_b = 0;
  std::string string_a, string_b;
  bool constant = true;
};

namespace {

using Node = FilterNode;
using Operand = FilterOperand;

template <typename T>
bool Compare(CompareOp op, const T& a, const T& b) {
  switch (op) {
    case CompareOp::kEq: return a == b;
    case CompareOp::kNe: return a != b;
    case CompareOp::kLt: return a < b;
    case CompareOp::kLe: return a <= b;
    case CompareOp::kGt: return a > b;
    case CompareOp::kGe: return a >= b;
  }
  return false;
}

// A recursive-descent parser over the grammar in the header.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::shared_ptr<const Node>> Parse() {
    SkipSpace();
    if (at_ == text_.size()) return std::shared_ptr<const Node>();
    ASSIGN_OR_RETURN(auto root, ParseOr());
    SkipSpace();
    if (at_ != text_.size()) return Error(at_, absl::StrCat("unexpected \"", text_.substr(at_, 8), "\""));
    return root;
  }

 private:
  absl::Status Error(size_t position, absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("filter \"", text_, "\": at character ", position + 1, ": ", what));
  }

  void SkipSpace() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_]))) ++at_;
  }

  bool Take(absl::string_view token) {
    SkipSpace();
    if (text_.substr(at_, token.size()) != token) return false;
    at_ += token.size();
    return true;
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseOr() {
    ASSIGN_OR_RETURN(auto left, ParseAnd());
    while (Take("||")) {
      ASSIGN_OR_RETURN(auto right, ParseAnd());
      left = Combine(Node::Kind::kOr, left, right);
    }
    return left;
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseAnd() {
    ASSIGN_OR_RETURN(auto left, ParseUnary());
    while (Take("&&")) {
      ASSIGN_OR_RETURN(auto right, ParseUnary());
      left = Combine(Node::Kind::kAnd, left, right);
    }
    return left;
  }

  static std::shared_ptr<const Node> Combine(Node::Kind kind, std::shared_ptr<const Node> left,
                                             std::shared_ptr<const Node> right) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->left = std::move(left);
    node->right = std::move(right);
    return node;
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseUnary() {
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == '!' && text_.substr(at_, 2) != "!=") {
      ++at_;
      ASSIGN_OR_RETURN(auto inner, ParseUnary());
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNot;
      node->left = std::move(inner);
      return std::shared_ptr<const Node>(node);
    }
    return ParseComparison();
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseComparison() {
    SkipSpace();
    const size_t start = at_;
    if (Take("(")) {
      ASSIGN_OR_RETURN(auto inner, ParseOr());
      if (!Take(")")) return Error(at_, "expected \")\"");
      return inner;
    }
    ASSIGN_OR_RETURN(Operand a, ParseOperand());
    SkipSpace();
    static constexpr std::pair<absl::string_view, CompareOp> kOps[] = {
        {"==", CompareOp::kEq}, {"!=", CompareOp::kNe}, {"<=", CompareOp::kLe},
        {">=", CompareOp::kGe}, {"<", CompareOp::kLt},  {">", CompareOp::kGt}};
    for (const auto& [token, op] : kOps) {
      if (!Take(token)) continue;
      const size_t b_at = at_;
      ASSIGN_OR_RETURN(Operand b, ParseOperand());
      if (a.kind == Operand::Kind::kString || b.kind == Operand::Kind::kString) {
        if (op != CompareOp::kEq && op != CompareOp::kNe) {
          return Error(start, "strings compare only with == and !=");
        }
      }
      const bool a_literal = a.kind != Operand::Kind::kField, b_literal = b.kind != Operand::Kind::kField;
      if (a_literal && b_literal && a.kind != b.kind) return Error(b_at, "compares a string with an integer");
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kCompare;
      node->op = op;
      node->a = std::move(a);
      node->b = std::move(b);
      return std::shared_ptr<const Node>(node);
    }
    if (a.kind == Operand::Kind::kField && (a.text == "true" || a.text == "false")) {
      auto node = std::make_shared<Node>();
      node->constant = a.text == "true";
      return std::shared_ptr<const Node>(node);
    }
    return Error(start, a.kind == Operand::Kind::kField
                            ? absl::StrCat("field \"", a.text, "\" is not a condition: compare it with a value")
                            : "a value is not a condition: compare it with a field");
  }

  absl::StatusOr<Operand> ParseOperand() {
    SkipSpace();
    Operand operand;
    operand.position = at_;
    if (at_ >= text_.size()) return Error(at_, "expected a field or a value, found the end");
    const char c = text_[at_];
    if (c == '"') {
      operand.kind = Operand::Kind::kString;
      ++at_;
      while (true) {
        if (at_ >= text_.size()) return Error(operand.position, "a string has no closing quote");
        char next = text_[at_++];
        if (next == '"') break;
        if (next == '\\') {
          if (at_ >= text_.size() || (text_[at_] != '"' && text_[at_] != '\\')) {
            return Error(at_ - 1, "only \\\" and \\\\ are escapes");
          }
          next = text_[at_++];
        }
        operand.text.push_back(next);
      }
      return operand;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t end = at_ + 1;
      while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) ++end;
      operand.kind = Operand::Kind::kInt;
      if (!absl::SimpleAtoi(text_.substr(at_, end - at_), &operand.number)) {
        return Error(at_, absl::StrCat("\"", text_.substr(at_, end - at_), "\" is not a 64-bit integer"));
      }
      at_ = end;
      return operand;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = at_ + 1;
      while (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) ++end;
      operand.kind = Operand::Kind::kField;
      operand.text = std::string(text_.substr(at_, end - at_));
      at_ = end;
      return operand;
    }
    return Error(at_, absl::StrCat("unexpected \"", text_.substr(at_, 1), "\""));
  }

  absl::string_view text_;
  size_t at_ = 0;
};

// Binds one operand: its column and type, or its literal.
absl::Status BindOperand(const Operand& operand, const EventSchema& schema, int& column, int64_t& number,
                         std::string& text, bool& is_string) {
  switch (operand.kind) {
    case Operand::Kind::kInt:
      number = operand.number;
      is_string = false;
      return absl::OkStatus();
    case Operand::Kind::kString:
      text = operand.text;
      is_string = true;
      return absl::OkStatus();
    case Operand::Kind::kField:
      column = schema.IndexOf(operand.text);
      if (column < 0) {
        return absl::FailedPreconditionError(absl::StrCat("the filter names field \"", operand.text,
                                                          "\", which the events do not have"));
      }
      is_string = schema.fields()[column].type == FieldType::kString;
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const BoundEventFilter::Step>> BindNode(const FilterNode& node,
                                                                        const EventSchema& schema) {
  auto step = std::make_shared<BoundEventFilter::Step>();
  step->kind = node.kind;
  step->constant = node.constant;
  step->op = node.op;
  if (node.left) {
    ASSIGN_OR_RETURN(step->left, BindNode(*node.left, schema));
  }
  if (node.right) {
    ASSIGN_OR_RETURN(step->right, BindNode(*node.right, schema));
  }
  if (node.kind != FilterNode::Kind::kCompare) return std::shared_ptr<const BoundEventFilter::Step>(step);
  bool a_string = false, b_string = false;
  RETURN_IF_ERROR(BindOperand(node.a, schema, step->column_a, step->number_a, step->string_a, a_string));
  RETURN_IF_ERROR(BindOperand(node.b, schema, step->column_b, step->number_b, step->string_b, b_string));
  if (a_string != b_string) {
    const bool a_is_field = node.a.kind == FilterOperand::Kind::kField;
    const FilterOperand& field = a_is_field ? node.a : node.b;
    const bool field_string = a_is_field ? a_string : b_string;
    return absl::FailedPreconditionError(absl::StrCat("the filter compares field \"", field.text, "\", which holds ",
                                                      field_string ? "strings" : "integers", ", with ",
                                                      field_string ? "an integer" : "a string"));
  }
  if (a_string && node.op != CompareOp::kEq && node.op != CompareOp::kNe) {
    return absl::FailedPreconditionError("the filter orders strings; strings compare only with == and !=");
  }
  step->strings = a_string;
  return std::shared_ptr<const BoundEventFilter::Step>(step);
}

void EvaluateCompare(const BoundEventFilter::Step& step, const EventBatch& batch, std::vector<uint8_t>& keep) {
  const size_t rows = batch.size();
  if (!step.strings) {
    const int64_t* a = step.column_a >= 0 ? batch.columns[step.column_a].ints.data() : nullptr;
    const int64_t* b = step.column_b >= 0 ? batch.columns[step.column_b].ints.data() : nullptr;
    for (size_t i = 0; i < rows; ++i) {
      keep[i] = Compare(step.op, a ? a[i] : step.number_a, b ? b[i] : step.number_b);
    }
    return;
  }
  if (step.column_a >= 0 && step.column_b >= 0) {
    const StringColumn& a = batch.columns[step.column_a].strings;
    const StringColumn& b = batch.columns[step.column_b].strings;
    for (size_t i = 0; i < rows; ++i) keep[i] = Compare(step.op, a.At(i), b.At(i));
    return;
  }
  if (step.column_a < 0 && step.column_b < 0) {
    std::fill(keep.begin(), keep.end(), Compare(step.op, step.string_a, step.string_b));
    return;
  }
  // A field against a literal: decide once per dictionary entry.
  const bool field_first = step.column_a >= 0;
  const StringColumn& column = batch.columns[field_first ? step.column_a : step.column_b].strings;
  const std::string& literal = field_first ? step.string_b : step.string_a;
  std::vector<uint8_t> entry_matches(column.dictionary.size());
  for (size_t d = 0; d < column.dictionary.size(); ++d) {
    entry_matches[d] = Compare(step.op, column.dictionary[d], literal);
  }
  for (size_t i = 0; i < rows; ++i) keep[i] = entry_matches[column.ids[i]];
}

void EvaluateStep(const BoundEventFilter::Step& step, const EventBatch& batch, std::vector<uint8_t>& keep) {
  keep.resize(batch.size());
  switch (step.kind) {
    case FilterNode::Kind::kConstant:
      std::fill(keep.begin(), keep.end(), step.constant ? 1 : 0);
      return;
    case FilterNode::Kind::kNot:
      EvaluateStep(*step.left, batch, keep);
      for (uint8_t& k : keep) k = !k;
      return;
    case FilterNode::Kind::kAnd:
    case FilterNode::Kind::kOr: {
      EvaluateStep(*step.left, batch, keep);
      std::vector<uint8_t> right;
      EvaluateStep(*step.right, batch, right);
      const bool both = step.kind == FilterNode::Kind::kAnd;
      for (size_t i = 0; i < keep.size(); ++i) keep[i] = both ? (keep[i] & right[i]) : (keep[i] | right[i]);
      return;
    }
    case FilterNode::Kind::kCompare:
      EvaluateCompare(step, batch, keep);
      return;
  }
}

}  // namespace

void BoundEventFilter::Evaluate(const EventBatch& batch, std::vector<uint8_t>& keep) const {
  if (root_ == nullptr) {
    keep.assign(batch.size(), 1);
    return;
  }
  EvaluateStep(*root_, batch, keep);
}

absl::StatusOr<EventFilter> EventFilter::Parse(absl::string_view expression) {
  ASSIGN_OR_RETURN(std::shared_ptr<const FilterNode> root, Parser(expression).Parse());
  return EventFilter(std::string(expression), std::move(root));
}

absl::StatusOr<BoundEventFilter> EventFilter::Bind(const EventSchema& schema) const {
  if (root_ == nullptr) return BoundEventFilter(nullptr);
  ASSIGN_OR_RETURN(auto step, BindNode(*root_, schema));
  return BoundEventFilter(std::move(step));
}

}  // namespace halo::edp
