#include "dockform/util/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "dockform/util/error.hpp"

namespace dockform::util {

namespace {
// One JSON object per line. spdlog's pattern cannot escape the message, so
// the JSON sinks escape it in a custom flag formatter.
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
            dest.append(std::string_view(buf));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

std::unique_ptr<spdlog::formatter> json_formatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonEscapedMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%*"})");
  return formatter;
}

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  throw Error("unknown log level '" + level + "' (expected debug, info, warn or error)", Exit::usage);
}
}  // namespace

void setup_logging(const LogOptions& options) {
  auto level = options.verbose ? spdlog::level::debug : parse_level(options.level);
  if (options.format != "auto" && options.format != "pretty" && options.format != "json") {
    throw Error("unknown log format '" + options.format + "' (expected auto, pretty or json)", Exit::usage);
  }
  bool color = !options.no_color && std::getenv("NO_COLOR") == nullptr && ::isatty(STDERR_FILENO) == 1;
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(color ? spdlog::color_mode::always
                                                                             : spdlog::color_mode::never);
  if (options.format == "json") {
    console->set_formatter(json_formatter());
  } else {
    console->set_pattern("%^%l%$: %v");
  }
  std::vector<spdlog::sink_ptr> sinks{console};
  if (!options.file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file);
      file->set_formatter(json_formatter());
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      throw Error("cannot open log file " + options.file + ": " + e.what(), Exit::usage);
    }
  }
  auto logger = std::make_shared<spdlog::logger>("dockform", sinks.begin(), sinks.end());
  logger->set_level(level);
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(logger);
}

}  // namespace dockform::util
