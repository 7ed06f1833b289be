#include "halo/common/config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <regex>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"

namespace halo {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::TextFormat;

struct RoleEntry {
  config::Role role;
  const char* name;
  // The HaloConfig field holding this role's section.
  const char* section;
};

constexpr RoleEntry kRoles[] = {
    {config::KINGDOM, "kingdom", "kingdom"},
    {config::DUCHY, "duchy", "duchy"},
    {config::DUCHY_HERALD, "duchy-herald", "duchy"},
    {config::DUCHY_MILL, "duchy-mill", "duchy_mill"},
    {config::EDP_AGENT, "edp-agent", "edp_agent"},
    {config::EXCHANGE_DAEMON, "exchange-daemon", "exchange_daemon"},
};

std::string KnownRoleNames() {
  std::vector<std::string> names;
  for (const RoleEntry& entry : kRoles) names.push_back(entry.name);
  return absl::StrJoin(names, ", ");
}

const RoleEntry* FindRole(config::Role role) {
  for (const RoleEntry& entry : kRoles) {
    if (entry.role == role) return &entry;
  }
  return nullptr;
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// For the parser's "Message type X has no field named Y", the closest field
// of X, so a typo comes with its fix.
std::string SuggestField(const std::string& parser_message) {
  static const std::regex kUnknownField(R"re(Message type "([\w.]+)" has no field named "(\w+)")re");
  std::smatch match;
  if (!std::regex_search(parser_message, match, kUnknownField)) return "";
  const Descriptor* type =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(match[1]);
  if (type == nullptr) return "";
  const std::string typo = match[2];
  std::string best;
  size_t best_distance = 3;
  for (int i = 0; i < type->field_count(); ++i) {
    const size_t d = EditDistance(typo, type->field(i)->name());
    if (d < best_distance) {
      best_distance = d;
      best = type->field(i)->name();
    }
  }
  return best.empty() ? "" : absl::StrCat(" (did you mean \"", best, "\"?)");
}

// The parser reports an unknown enum value at the token after it; this finds
// the value itself ("role: KINGDON") so the column points at the typo.
void LocateEnumValue(absl::string_view text, const std::string& message, int& line, int& column) {
  static const std::regex kUnknownEnum(R"re(Unknown enumeration value of "(\w+)" for field "(\w+)")re");
  std::smatch match;
  if (!std::regex_search(message, match, kUnknownEnum)) return;
  const std::regex assignment(absl::StrCat(R"re(\b)re", match[2].str(), R"re(\s*:\s*()re",
                                           match[1].str(), R"re()\b)re"));
  const std::string owned(text);
  std::smatch found;
  if (!std::regex_search(owned, found, assignment)) return;
  const size_t offset = found.position(1);
  line = static_cast<int>(std::count(owned.begin(), owned.begin() + offset, '\n'));
  const size_t line_start = owned.rfind('\n', offset == 0 ? 0 : offset - 1);
  column = static_cast<int>(line_start == std::string::npos ? offset : offset - line_start - 1);
}

// The parser reports an unknown field at the token after its name; this moves
// the column back to the name on the same line.
void LocateUnknownField(absl::string_view text, const std::string& message, int line, int& column) {
  static const std::regex kUnknownField(R"re(has no field named "(\w+)")re");
  std::smatch match;
  if (!std::regex_search(message, match, kUnknownField)) return;
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (line < 0 || line >= static_cast<int>(lines.size())) return;
  const absl::string_view line_text = lines[line];
  const size_t at = line_text.rfind(match[1].str(), column);
  if (at != absl::string_view::npos) column = static_cast<int>(at);
}

class CollectErrors : public google::protobuf::io::ErrorCollector {
 public:
  CollectErrors(absl::string_view file_name, absl::string_view text)
      : file_name_(file_name), text_(text) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!first_error_.empty()) return;
    LocateEnumValue(text_, message, line, column);
    LocateUnknownField(text_, message, line, column);
    first_error_ = absl::StrCat(file_name_, ":", line + 1, ":", column + 1, ": ", message,
                                SuggestField(message));
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string&) override {}

  const std::string& first_error() const { return first_error_; }

 private:
  std::string file_name_;
  absl::string_view text_;
  std::string first_error_;
};

// Where things are in the file, for errors found after parsing.
class Locator {
 public:
  Locator(absl::string_view file_name, const TextFormat::ParseInfoTree* tree)
      : file_name_(file_name), tree_(tree) {}

  std::string At(const TextFormat::ParseInfoTree* tree, const FieldDescriptor* field, int index = -1) const {
    TextFormat::ParseLocation location;
    if (tree != nullptr && field != nullptr) location = tree->GetLocation(field, field->is_repeated() ? std::max(index, 0) : -1);
    if (location.line < 0) return absl::StrCat(file_name_, ":1:1");
    return absl::StrCat(file_name_, ":", location.line + 1, ":", location.column + 1);
  }

  absl::Status Error(const TextFormat::ParseInfoTree* tree, const FieldDescriptor* located_at,
                     absl::string_view field_path, absl::string_view what, int index = -1) const {
    return absl::InvalidArgumentError(
        absl::StrCat(At(tree, located_at, index), ": field \"", field_path, "\": ", what));
  }

  const TextFormat::ParseInfoTree* root() const { return tree_; }

 private:
  std::string file_name_;
  const TextFormat::ParseInfoTree* tree_;
};

bool IsSet(const Message& message, const FieldDescriptor* field) {
  const Reflection* reflection = message.GetReflection();
  if (field->is_repeated()) return reflection->FieldSize(message, field) > 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return reflection->HasField(message, field);
    case FieldDescriptor::CPPTYPE_STRING:
      return !reflection->GetString(message, field).empty();
    case FieldDescriptor::CPPTYPE_ENUM:
      return reflection->GetEnumValue(message, field) != 0;
    default:
      return reflection->HasField(message, field);
  }
}

absl::Status CheckHostPort(absl::string_view value) {
  const size_t colon = value.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", value, "\" is not host:port"));
  }
  absl::string_view host = value.substr(0, colon);
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\": an IPv6 host must be in brackets, e.g. [::1]:8443"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", value, "\" has no port between 1 and 65535"));
  }
  return absl::OkStatus();
}

// Checks the `required` and `host_port` options over every set message.
// `located_at` is the field in `parent_tree` where `message` itself starts.
absl::Status CheckFields(const Message& message, const std::string& path,
                         const Locator& locator, const TextFormat::ParseInfoTree* parent_tree,
                         const FieldDescriptor* located_at, const TextFormat::ParseInfoTree* tree,
                         int located_index = -1) {
  const Descriptor* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    const std::string field_path = path.empty() ? field->name() : absl::StrCat(path, ".", field->name());
    const bool set = IsSet(message, field);
    if (!set) {
      if (field->options().GetExtension(config::required)) {
        return locator.Error(parent_tree, located_at, field_path, "missing required value", located_index);
      }
      continue;
    }
    if (field->options().GetExtension(config::host_port)) {
      absl::Status status = CheckHostPort(message.GetReflection()->GetString(message, field));
      if (!status.ok()) return locator.Error(tree, field, field_path, status.message());
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_repeated()) {
      const TextFormat::ParseInfoTree* nested =
          tree != nullptr ? tree->GetTreeForNested(field, -1) : nullptr;
      RETURN_IF_ERROR(CheckFields(message.GetReflection()->GetMessage(message, field), field_path,
                                  locator, tree, field, nested));
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && field->is_repeated()) {
      const Reflection* reflection = message.GetReflection();
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        const TextFormat::ParseInfoTree* nested = tree != nullptr ? tree->GetTreeForNested(field, i) : nullptr;
        RETURN_IF_ERROR(CheckFields(reflection->GetRepeatedMessage(message, field, i),
                                    absl::StrCat(field_path, "[", i, "]"), locator, tree, field, nested, i));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<config::Role> ParseRoleName(absl::string_view name) {
  for (const RoleEntry& entry : kRoles) {
    if (name == entry.name) return entry.role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role \"", name, "\"; known roles: ", KnownRoleNames()));
}

std::string RoleName(config::Role role) {
  const RoleEntry* entry = FindRole(role);
  return entry != nullptr ? entry->name : "unspecified";
}

absl::StatusOr<config::HaloConfig> ParseConfig(absl::string_view text, absl::string_view file_name,
                                               absl::string_view role_flag) {
  config::HaloConfig config;
  TextFormat::Parser parser;
  CollectErrors errors(file_name, text);
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(errors.first_error());
  }
  const Locator locator(file_name, &tree);
  const Descriptor* descriptor = config::HaloConfig::descriptor();
  const FieldDescriptor* role_field = descriptor->FindFieldByName("role");

  if (!role_flag.empty()) {
    ASSIGN_OR_RETURN(config::Role flag_role, ParseRoleName(role_flag));
    if (config.role() != config::ROLE_UNSPECIFIED && config.role() != flag_role) {
      return locator.Error(&tree, role_field, "role",
                           absl::StrCat("the config says ", RoleName(config.role()),
                                        " but --role says ", RoleName(flag_role)));
    }
    config.set_role(flag_role);
  }
  if (config.role() == config::ROLE_UNSPECIFIED) {
    return locator.Error(&tree, role_field, "role",
                         absl::StrCat("missing: set role in the config or pass --role (",
                                      KnownRoleNames(), ")"));
  }

  const RoleEntry* role = FindRole(config.role());
  const FieldDescriptor* expected_section = descriptor->FindFieldByName(role->section);
  const google::protobuf::OneofDescriptor* sections = expected_section->containing_oneof();
  const FieldDescriptor* present_section =
      config.GetReflection()->GetOneofFieldDescriptor(config, sections);
  if (present_section != nullptr && present_section != expected_section) {
    return locator.Error(&tree, present_section, present_section->name(),
                         absl::StrCat("a ", role->name, " config needs a \"", role->section,
                                      "\" section, not \"", present_section->name(), "\""));
  }
  if (present_section == nullptr) {
    return locator.Error(&tree, role_field, role->section,
                         absl::StrCat("missing the \"", role->section, "\" section that role ",
                                      role->name, " needs"));
  }
  RETURN_IF_ERROR(CheckFields(config, "", locator, nullptr, nullptr, &tree));
  return config;
}

absl::Status ParseConfigMessage(absl::string_view text, absl::string_view file_name, Message& message) {
  TextFormat::Parser parser;
  CollectErrors errors(file_name, text);
  TextFormat::ParseInfoTree tree;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &message)) return absl::InvalidArgumentError(errors.first_error());
  const Locator locator(file_name, &tree);
  return CheckFields(message, "", locator, nullptr, nullptr, &tree);
}

absl::Status LoadConfigMessage(const std::string& path, Message& message) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat(path, ": cannot read config file"));
  return ParseConfigMessage(*text, path, message);
}

absl::StatusOr<config::HaloConfig> LoadConfig(const std::string& path, absl::string_view role_flag) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat(path, ": cannot read config file"));
  return ParseConfig(*text, path, role_flag);
}

}  // namespace halo
