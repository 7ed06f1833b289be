#include "halo/common/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace halo {
namespace {

// %* in a pattern: the message, escaped for a JSON string.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string escaped = JsonEscape(absl::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

spdlog::level::level_enum ToSpdlog(config::LoggingConfig::Level level) {
  switch (level) {
    case config::LoggingConfig::TRACE: return spdlog::level::trace;
    case config::LoggingConfig::DEBUG: return spdlog::level::debug;
    case config::LoggingConfig::WARN: return spdlog::level::warn;
    case config::LoggingConfig::ERROR: return spdlog::level::err;
    default: return spdlog::level::info;
  }
}

// A flag value such as "debug" as the enum value DEBUG; the zero
// (unspecified) value is not a choice.
template <typename Enum>
absl::StatusOr<Enum> ParseEnumName(absl::string_view name, absl::string_view what,
                                   absl::string_view choices) {
  const google::protobuf::EnumValueDescriptor* value =
      google::protobuf::GetEnumDescriptor<Enum>()->FindValueByName(absl::AsciiStrToUpper(name));
  if (value == nullptr || value->number() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown ", what, " \"", name, "\"; use ", choices));
  }
  return static_cast<Enum>(value->number());
}

}  // namespace

absl::StatusOr<config::LoggingConfig::Level> ParseLogLevel(absl::string_view name) {
  return ParseEnumName<config::LoggingConfig::Level>(name, "log level",
                                                     "trace, debug, info, warn or error");
}

absl::StatusOr<config::LoggingConfig::Format> ParseLogFormat(absl::string_view name) {
  return ParseEnumName<config::LoggingConfig::Format>(name, "log format", "text or json");
}

std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

void ConfigureLogging(const config::LoggingConfig& logging) {
  auto logger = spdlog::stderr_logger_mt("halo");
  spdlog::drop("halo");
  spdlog::set_default_logger(logger);
  spdlog::set_level(ToSpdlog(logging.level()));
  if (logging.format() == config::LoggingConfig::JSON) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n","thread":%t,"message":"%*"})");
    spdlog::set_formatter(std::move(formatter));
  } else {
    spdlog::set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  }
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace halo
