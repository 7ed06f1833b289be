#include "halo/edp/event_filter.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::edp {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ValueType { kInt, kDouble, kString, kBool };

struct FilterLiteral {
  ValueType type = ValueType::kInt;
  int64_t number = 0;  // kInt, and kBool as 0 or 1
  double real = 0;     // kDouble
  std::string text;    // kString
};

struct FilterOperand {
  bool is_field = false;
  std::string field;
  FilterLiteral literal;
  size_t position = 0;
};

struct FilterNode {
  // kAnd and kOr hold any number of children, so that a long chain is one
  // level deep; kNot holds one. kTruth is a bool field on its own.
  enum class Kind { kOr, kAnd, kNot, kCompare, kIn, kTruth, kConstant } kind = Kind::kConstant;
  std::vector<std::shared_ptr<const FilterNode>> children;
  CompareOp op = CompareOp::kEq;
  FilterOperand a, b;  // kCompare; kIn and kTruth use a
  std::vector<FilterLiteral> list;  // kIn
  bool constant = true;
};

// One side of a bound comparison: a column, or a literal.
struct BoundValue {
  int column = -1;
  ValueType type = ValueType::kInt;
  int64_t number = 0;
  double real = 0;
  std::string text;
};

struct BoundEventFilter::Step {
  FilterNode::Kind kind = FilterNode::Kind::kConstant;
  std::vector<std::shared_ptr<const Step>> children;
  CompareOp op = CompareOp::kEq;
  BoundValue a, b;
  // kIn: the literals, as strings or as numbers.
  absl::flat_hash_set<std::string> strings;
  std::vector<double> numbers;
  bool constant = true;
};

namespace {

using Node = FilterNode;
using Step = BoundEventFilter::Step;

bool IsNumber(ValueType t) { return t == ValueType::kInt || t == ValueType::kDouble; }

const char* TypeName(ValueType t) {
  switch (t) {
    case ValueType::kInt: return "integers";
    case ValueType::kDouble: return "decimals";
    case ValueType::kString: return "strings";
    case ValueType::kBool: return "booleans";
  }
  return "values";
}

ValueType TypeOf(FieldType t) {
  switch (t) {
    case FieldType::kInt: return ValueType::kInt;
    case FieldType::kDouble: return ValueType::kDouble;
    case FieldType::kString: return ValueType::kString;
    case FieldType::kBool: return ValueType::kBool;
  }
  return ValueType::kInt;
}

// Whether two types may be compared with `op`; the reason if not.
std::string Incompatible(ValueType a, ValueType b, CompareOp op) {
  const bool ordering = op != CompareOp::kEq && op != CompareOp::kNe;
  if (IsNumber(a) && IsNumber(b)) return "";
  if (a != b) return absl::StrCat("compares ", TypeName(a), " with ", TypeName(b));
  if (ordering) return absl::StrCat(TypeName(a), " compare only with == and !=");
  return "";
}

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

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// A recursive-descent parser over the grammar in the header. Recursion goes
// one level per parenthesis or !, which `depth_` bounds.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::shared_ptr<const Node>> Parse() {
    if (text_.size() > kMaxFilterLength) {
      return absl::InvalidArgumentError(absl::StrCat("the filter is ", text_.size(), " characters long; at most ",
                                                     kMaxFilterLength, " are accepted"));
    }
    SkipSpace();
    if (at_ == text_.size()) return std::shared_ptr<const Node>();
    ASSIGN_OR_RETURN(auto root, ParseOr());
    SkipSpace();
    if (at_ != text_.size()) return Error(at_, absl::StrCat("unexpected \"", text_.substr(at_, 8), "\""));
    return root;
  }

 private:
  absl::Status Error(size_t position, absl::string_view what) const {
    // The filter is quoted whole only when short: the message may reach the
    // MC in a refusal and should stay readable.
    const std::string quoted = text_.size() <= 200 ? absl::StrCat("filter \"", text_, "\"") : "the filter";
    return absl::InvalidArgumentError(absl::StrCat(quoted, ": at character ", position + 1, ": ", what));
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

  // A keyword, not the start of a longer name.
  bool TakeWord(absl::string_view word) {
    SkipSpace();
    if (text_.substr(at_, word.size()) != word) return false;
    const size_t end = at_ + word.size();
    if (end < text_.size() && (IsNameChar(text_[end]) || text_[end] == '.')) return false;
    at_ = end;
    return true;
  }

  absl::Status Deeper(size_t position) {
    if (++depth_ > kMaxFilterDepth) {
      return Error(position, absl::StrCat("the filter nests deeper than ", kMaxFilterDepth,
                                          " levels of parentheses and !"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseChain(Node::Kind kind, absl::string_view token) {
    ASSIGN_OR_RETURN(auto first, kind == Node::Kind::kOr ? ParseChain(Node::Kind::kAnd, "&&") : ParseUnary());
    if (!Take(token)) return first;
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->children.push_back(std::move(first));
    do {
      ASSIGN_OR_RETURN(auto next, kind == Node::Kind::kOr ? ParseChain(Node::Kind::kAnd, "&&") : ParseUnary());
      node->children.push_back(std::move(next));
    } while (Take(token));
    return std::shared_ptr<const Node>(node);
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseOr() { return ParseChain(Node::Kind::kOr, "||"); }

  absl::StatusOr<std::shared_ptr<const Node>> ParseUnary() {
    SkipSpace();
    if (at_ < text_.size() && text_[at_] == '!' && text_.substr(at_, 2) != "!=") {
      RETURN_IF_ERROR(Deeper(at_));
      ++at_;
      ASSIGN_OR_RETURN(auto inner, ParseUnary());
      --depth_;
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNot;
      node->children.push_back(std::move(inner));
      return std::shared_ptr<const Node>(node);
    }
    return ParseComparison();
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseComparison() {
    SkipSpace();
    const size_t start = at_;
    if (Take("(")) {
      RETURN_IF_ERROR(Deeper(start));
      ASSIGN_OR_RETURN(auto inner, ParseOr());
      if (!Take(")")) return Error(at_, "expected \")\"");
      --depth_;
      return inner;
    }
    ASSIGN_OR_RETURN(FilterOperand a, ParseOperand());
    if (TakeWord("in")) return ParseIn(std::move(a), start);
    static constexpr std::pair<absl::string_view, CompareOp> kOps[] = {
        {"==", CompareOp::kEq}, {"!=", CompareOp::kNe}, {"<=", CompareOp::kLe},
        {">=", CompareOp::kGe}, {"<", CompareOp::kLt},  {">", CompareOp::kGt}};
    for (const auto& [token, op] : kOps) {
      if (!Take(token)) continue;
      const size_t b_at = at_;
      ASSIGN_OR_RETURN(FilterOperand b, ParseOperand());
      if (!a.is_field && !b.is_field) {
        if (std::string why = Incompatible(a.literal.type, b.literal.type, op); !why.empty()) return Error(b_at, why);
      }
      for (const FilterOperand* literal : {&a, &b}) {
        if (!literal->is_field && literal->literal.type != ValueType::kInt &&
            literal->literal.type != ValueType::kDouble && op != CompareOp::kEq && op != CompareOp::kNe) {
          return Error(start, absl::StrCat(TypeName(literal->literal.type), " compare only with == and !="));
        }
      }
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kCompare;
      node->op = op;
      node->a = std::move(a);
      node->b = std::move(b);
      return std::shared_ptr<const Node>(node);
    }
    auto node = std::make_shared<Node>();
    if (a.is_field) {
      node->kind = Node::Kind::kTruth;
      node->a = std::move(a);
      return std::shared_ptr<const Node>(node);
    }
    if (a.literal.type == ValueType::kBool) {
      node->constant = a.literal.number != 0;
      return std::shared_ptr<const Node>(node);
    }
    return Error(start, "a value is not a condition: compare it with a field");
  }

  absl::StatusOr<std::shared_ptr<const Node>> ParseIn(FilterOperand field, size_t start) {
    if (!field.is_field) return Error(start, "the left side of \"in\" must be a field");
    if (!Take("[")) return Error(at_, "expected \"[\" after \"in\"");
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kIn;
    node->a = std::move(field);
    if (!Take("]")) {
      do {
        SkipSpace();
        const size_t at = at_;
        ASSIGN_OR_RETURN(FilterOperand item, ParseOperand());
        if (item.is_field) return Error(at, "a list after \"in\" holds values, not fields");
        const bool text = item.literal.type == ValueType::kString;
        if (!text && !IsNumber(item.literal.type)) return Error(at, "a list after \"in\" holds strings or numbers");
        if (!node->list.empty() && (node->list.front().type == ValueType::kString) != text) {
          return Error(at, "a list after \"in\" holds strings or numbers, not both");
        }
        node->list.push_back(std::move(item.literal));
      } while (Take(","));
      if (!Take("]")) return Error(at_, "expected \",\" or \"]\" in the list");
    }
    return std::shared_ptr<const Node>(node);
  }

  absl::StatusOr<FilterOperand> ParseOperand() {
    SkipSpace();
    FilterOperand operand;
    operand.position = at_;
    if (at_ >= text_.size()) return Error(at_, "expected a field or a value, found the end");
    const char c = text_[at_];
    if (c == '"') return ParseString(operand);
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.') return ParseNumber(operand);
    if (IsNameStart(c)) {
      if (TakeWord("true") || TakeWord("false")) {
        operand.literal.type = ValueType::kBool;
        operand.literal.number = text_[operand.position] == 't' ? 1 : 0;
        return operand;
      }
      size_t end = at_;
      while (true) {
        if (end >= text_.size() || !IsNameStart(text_[end])) return Error(end, "a field name part must start with a letter or _");
        while (end < text_.size() && IsNameChar(text_[end])) ++end;
        if (end < text_.size() && text_[end] == '.') {
          ++end;
          continue;
        }
        break;
      }
      operand.is_field = true;
      operand.field = std::string(text_.substr(at_, end - at_));
      at_ = end;
      return operand;
    }
    return Error(at_, absl::StrCat("unexpected \"", text_.substr(at_, 1), "\""));
  }

  absl::StatusOr<FilterOperand> ParseString(FilterOperand operand) {
    operand.literal.type = ValueType::kString;
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
      operand.literal.text.push_back(next);
    }
    return operand;
  }

  absl::StatusOr<FilterOperand> ParseNumber(FilterOperand operand) {
    size_t end = at_ + (text_[at_] == '-' ? 1 : 0);
    bool decimal = false;
    while (end < text_.size()) {
      const char d = text_[end];
      if (std::isdigit(static_cast<unsigned char>(d))) {
        ++end;
      } else if (d == '.' || d == 'e' || d == 'E') {
        decimal = true;
        ++end;
        if ((d == 'e' || d == 'E') && end < text_.size() && (text_[end] == '-' || text_[end] == '+')) ++end;
      } else {
        break;
      }
    }
    const absl::string_view number = text_.substr(at_, end - at_);
    if (decimal) {
      operand.literal.type = ValueType::kDouble;
      if (!absl::SimpleAtod(number, &operand.literal.real) || !std::isfinite(operand.literal.real)) {
        return Error(at_, absl::StrCat("\"", number, "\" is not a finite decimal number"));
      }
    } else if (!absl::SimpleAtoi(number, &operand.literal.number)) {
      return Error(at_, absl::StrCat("\"", number, "\" is not a 64-bit integer"));
    }
    at_ = end;
    return operand;
  }

  absl::string_view text_;
  size_t at_ = 0;
  int depth_ = 0;
};

absl::Status MissingField(const std::string& name) {
  return absl::FailedPreconditionError(
      absl::StrCat("the filter names field \"", name, "\", which the events do not have"));
}

// Binds one operand: its column and type, or its literal.
absl::StatusOr<BoundValue> BindValue(const FilterOperand& operand, const EventSchema& schema) {
  BoundValue value;
  if (!operand.is_field) {
    value.type = operand.literal.type;
    value.number = operand.literal.number;
    value.real = operand.literal.type == ValueType::kDouble ? operand.literal.real
                                                            : static_cast<double>(operand.literal.number);
    value.text = operand.literal.text;
    return value;
  }
  value.column = schema.IndexOf(operand.field);
  if (value.column < 0) return MissingField(operand.field);
  value.type = TypeOf(schema.fields()[value.column].type);
  return value;
}

absl::StatusOr<std::shared_ptr<const Step>> BindNode(const FilterNode& node, const EventSchema& schema) {
  auto step = std::make_shared<Step>();
  step->kind = node.kind;
  step->constant = node.constant;
  step->op = node.op;
  for (const auto& child : node.children) {
    ASSIGN_OR_RETURN(auto bound, BindNode(*child, schema));
    step->children.push_back(std::move(bound));
  }
  switch (node.kind) {
    case FilterNode::Kind::kCompare: {
      ASSIGN_OR_RETURN(step->a, BindValue(node.a, schema));
      ASSIGN_OR_RETURN(step->b, BindValue(node.b, schema));
      if (std::string why = Incompatible(step->a.type, step->b.type, node.op); !why.empty()) {
        const FilterOperand& field = node.a.is_field ? node.a : node.b;
        return absl::FailedPreconditionError(absl::StrCat("the filter ", why, " (field \"", field.field, "\")"));
      }
      break;
    }
    case FilterNode::Kind::kTruth:
    case FilterNode::Kind::kIn: {
      ASSIGN_OR_RETURN(step->a, BindValue(node.a, schema));
      if (node.kind == FilterNode::Kind::kTruth) {
        if (step->a.type != ValueType::kBool) {
          return absl::FailedPreconditionError(absl::StrCat("field \"", node.a.field, "\" holds ",
                                                            TypeName(step->a.type),
                                                            ", so it is not a condition: compare it with a value"));
        }
        break;
      }
      const bool text = !node.list.empty() && node.list.front().type == ValueType::kString;
      if (step->a.type == ValueType::kBool || (!node.list.empty() && text != (step->a.type == ValueType::kString))) {
        return absl::FailedPreconditionError(absl::StrCat("the filter looks for field \"", node.a.field, "\", which holds ",
                                                          TypeName(step->a.type), ", in a list of ",
                                                          text ? "strings" : "numbers"));
      }
      for (const FilterLiteral& item : node.list) {
        if (text) {
          step->strings.insert(item.text);
        } else {
          step->numbers.push_back(item.type == ValueType::kDouble ? item.real : static_cast<double>(item.number));
        }
      }
      break;
    }
    default:
      break;
  }
  return std::shared_ptr<const Step>(step);
}

// Numbers of one side, row by row: an int or bool column, a double column,
// or a literal.
struct Numbers {
  const int64_t* ints = nullptr;
  const double* reals = nullptr;
  int64_t number = 0;
  double real = 0;

  static Numbers Of(const BoundValue& v, const EventBatch& batch) {
    Numbers n{nullptr, nullptr, v.number, v.real};
    if (v.column >= 0) {
      if (v.type == ValueType::kDouble) {
        n.reals = batch.columns[v.column].doubles.data();
      } else {
        n.ints = batch.columns[v.column].ints.data();
      }
    }
    return n;
  }
  int64_t Int(size_t i) const { return ints ? ints[i] : number; }
  double Real(size_t i) const { return reals ? reals[i] : ints ? static_cast<double>(ints[i]) : real; }
};

void EvaluateNumbers(const Step& step, const EventBatch& batch, std::vector<uint8_t>& keep) {
  const Numbers a = Numbers::Of(step.a, batch), b = Numbers::Of(step.b, batch);
  const bool integral = step.a.type != ValueType::kDouble && step.b.type != ValueType::kDouble;
  for (size_t i = 0; i < keep.size(); ++i) {
    keep[i] = integral ? Compare(step.op, a.Int(i), b.Int(i)) : Compare(step.op, a.Real(i), b.Real(i));
  }
}

void EvaluateStrings(const Step& step, const EventBatch& batch, std::vector<uint8_t>& keep) {
  const size_t rows = batch.size();
  if (step.a.column >= 0 && step.b.column >= 0) {
    const StringColumn& a = batch.columns[step.a.column].strings;
    const StringColumn& b = batch.columns[step.b.column].strings;
    for (size_t i = 0; i < rows; ++i) keep[i] = Compare(step.op, a.At(i), b.At(i));
    return;
  }
  if (step.a.column < 0 && step.b.column < 0) {
    std::fill(keep.begin(), keep.end(), Compare(step.op, step.a.text, step.b.text));
    return;
  }
  // A field against a literal: decide once per dictionary entry.
  const bool field_first = step.a.column >= 0;
  const StringColumn& column = batch.columns[field_first ? step.a.column : step.b.column].strings;
  const std::string& literal = field_first ? step.b.text : step.a.text;
  std::vector<uint8_t> entry_matches(column.dictionary.size());
  for (size_t d = 0; d < column.dictionary.size(); ++d) {
    entry_matches[d] = field_first ? Compare(step.op, column.dictionary[d], literal)
                                   : Compare(step.op, literal, column.dictionary[d]);
  }
  for (size_t i = 0; i < rows; ++i) keep[i] = entry_matches[column.ids[i]];
}

void EvaluateIn(const Step& step, const EventBatch& batch, std::vector<uint8_t>& keep) {
  if (step.a.type == ValueType::kString) {
    const StringColumn& column = batch.columns[step.a.column].strings;
    std::vector<uint8_t> entry_matches(column.dictionary.size());
    for (size_t d = 0; d < column.dictionary.size(); ++d) entry_matches[d] = step.strings.contains(column.dictionary[d]);
    for (size_t i = 0; i < keep.size(); ++i) keep[i] = entry_matches[column.ids[i]];
    return;
  }
  const Numbers values = Numbers::Of(step.a, batch);
  for (size_t i = 0; i < keep.size(); ++i) {
    const double v = values.Real(i);
    keep[i] = std::find(step.numbers.begin(), step.numbers.end(), v) != step.numbers.end();
  }
}

void EvaluateStep(const Step& step, const EventBatch& batch, std::vector<uint8_t>& keep) {
  keep.resize(batch.size());
  switch (step.kind) {
    case FilterNode::Kind::kConstant:
      std::fill(keep.begin(), keep.end(), step.constant ? 1 : 0);
      return;
    case FilterNode::Kind::kNot:
      EvaluateStep(*step.children[0], batch, keep);
      for (uint8_t& k : keep) k = !k;
      return;
    case FilterNode::Kind::kAnd:
    case FilterNode::Kind::kOr: {
      EvaluateStep(*step.children[0], batch, keep);
      std::vector<uint8_t> next;
      const bool all = step.kind == FilterNode::Kind::kAnd;
      for (size_t c = 1; c < step.children.size(); ++c) {
        EvaluateStep(*step.children[c], batch, next);
        for (size_t i = 0; i < keep.size(); ++i) keep[i] = all ? (keep[i] & next[i]) : (keep[i] | next[i]);
      }
      return;
    }
    case FilterNode::Kind::kTruth: {
      const int64_t* values = batch.columns[step.a.column].ints.data();
      for (size_t i = 0; i < keep.size(); ++i) keep[i] = values[i] != 0;
      return;
    }
    case FilterNode::Kind::kIn:
      EvaluateIn(step, batch, keep);
      return;
    case FilterNode::Kind::kCompare:
      if (step.a.type == ValueType::kString) {
        EvaluateStrings(step, batch, keep);
      } else {
        EvaluateNumbers(step, batch, keep);
      }
      return;
  }
}

CompareOp Negated(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return CompareOp::kNe;
    case CompareOp::kNe: return CompareOp::kEq;
    case CompareOp::kLt: return CompareOp::kGe;
    case CompareOp::kLe: return CompareOp::kGt;
    case CompareOp::kGt: return CompareOp::kLe;
    case CompareOp::kGe: return CompareOp::kLt;
  }
  return op;
}

// `node` (negated if `negate`) in negation normal form, with the leaves that
// read other fields than `fields` replaced by true.
std::shared_ptr<const Node> Relax(const Node& node, bool negate, const std::vector<std::string>& fields) {
  auto out = std::make_shared<Node>();
  const auto kept = [&](const FilterOperand& operand) {
    return !operand.is_field || std::find(fields.begin(), fields.end(), operand.field) != fields.end();
  };
  switch (node.kind) {
    case Node::Kind::kConstant:
      out->constant = node.constant != negate;
      return out;
    case Node::Kind::kNot:
      return Relax(*node.children[0], !negate, fields);
    case Node::Kind::kAnd:
    case Node::Kind::kOr:
      out->kind = (node.kind == Node::Kind::kAnd) != negate ? Node::Kind::kAnd : Node::Kind::kOr;
      for (const auto& child : node.children) out->children.push_back(Relax(*child, negate, fields));
      return out;
    case Node::Kind::kCompare:
      if (!kept(node.a) || !kept(node.b)) return out;  // true
      *out = node;
      if (negate) out->op = Negated(node.op);
      return out;
    case Node::Kind::kIn:
    case Node::Kind::kTruth: {
      if (!kept(node.a)) return out;  // true
      *out = node;
      if (!negate) return out;
      auto negated = std::make_shared<Node>();
      negated->kind = Node::Kind::kNot;
      negated->children.push_back(std::move(out));
      return negated;
    }
  }
  return out;
}

void CollectLiterals(const Node& node, EventFilter::Literals& out) {
  const auto add = [&](const FilterLiteral& literal) {
    if (literal.type == ValueType::kString) out.strings.push_back(literal.text);
    if (literal.type == ValueType::kInt) out.numbers.push_back(static_cast<double>(literal.number));
    if (literal.type == ValueType::kDouble) out.numbers.push_back(literal.real);
  };
  for (const FilterOperand* operand : {&node.a, &node.b}) {
    if (!operand->is_field && (node.kind == Node::Kind::kCompare || operand == &node.a)) add(operand->literal);
  }
  for (const FilterLiteral& item : node.list) add(item);
  for (const auto& child : node.children) CollectLiterals(*child, out);
}

}  // namespace

EventFilter::Literals EventFilter::LiteralValues() const {
  Literals literals;
  if (root_ != nullptr) CollectLiterals(*root_, literals);
  return literals;
}

EventFilter EventFilter::Relaxed(const std::vector<std::string>& fields) const {
  if (root_ == nullptr) return *this;
  return EventFilter(absl::StrCat("relaxed(", expression_, ")"), Relax(*root_, false, fields));
}

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
