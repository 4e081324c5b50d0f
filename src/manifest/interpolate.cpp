// Compose-style variable interpolation: ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?message} and $$, as Docker Compose does. This only reads
// variables: nothing here runs a command, so "$(...)" and backquotes stay text.
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "dockform/manifest/manifest.hpp"

namespace dockform::manifest {
namespace {

// Defaults may hold references of their own, parsed by recursion; the cap
// keeps hostile text such as "${A:-${A:-${A:-..." from exhausting the stack.
constexpr int max_nesting = 32;
// How much of a bad reference an error message quotes.
constexpr std::size_t max_quoted = 40;

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

// One left-to-right pass over the text. When `evaluate` is false the parser
// only checks syntax: an unused default must be well-formed, but it must not
// fail a :? check nor read the environment.
class Interpolator {
 public:
  Interpolator(const std::string& text, const EnvLookup& env) : text_(text), env_(env) {}

  std::string run() { return expand(true, 0); }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  // Copies text and replaces references, up to the end of the text or,
  // inside a braced reference (depth > 0), up to the '}' that closes it.
  std::string expand(bool evaluate, int depth) {
    std::string out;
    while (!at_end()) {
      const char c = text_[pos_];
      if (c == '}' && depth > 0) break;
      if (c == '$') {
        out += reference(evaluate, depth);
      } else {
        out += c;
        ++pos_;
      }
    }
    return out;
  }

  // pos_ is at a '$'.
  std::string reference(bool evaluate, int depth) {
    const std::size_t start = pos_++;
    if (peek() == '$') {
      ++pos_;
      return "$";
    }
    if (peek() == '{') {
      ++pos_;
      return braced(start, evaluate, depth + 1);
    }
    const std::string name = read_name();
    if (name.empty()) return "$";  // "$(", "$1", "$ ": not a reference, as in Compose
    return evaluate ? env_(name).value_or("") : "";
  }

  // pos_ is just after the "${" that starts at `start`.
  std::string braced(std::size_t start, bool evaluate, int depth) {
    if (depth > max_nesting) {
      throw std::invalid_argument("references nested more than " + std::to_string(max_nesting) + " levels deep");
    }
    const std::string name = read_name();
    if (at_end()) throw unterminated(start);
    if (name.empty()) {
      throw malformed(start, "expected a variable name (a letter or '_', then letters, digits, '_')");
    }
    if (peek() == '}') {
      ++pos_;
      return evaluate ? env_(name).value_or("") : "";
    }
    const bool colon = peek() == ':';
    if (colon) ++pos_;
    const char op = peek();
    if (op != '-' && op != '?' && op != '+') {
      if (at_end()) throw unterminated(start);
      throw malformed(start, "expected '}', ':-', '-', ':?', '?', ':+' or '+' after the name");
    }
    ++pos_;

    const std::optional<std::string> value = evaluate ? env_(name) : std::nullopt;
    // With ':' an empty value counts as unset.
    const bool is_set = value.has_value() && !(colon && value->empty());
    const bool uses_word = evaluate && (op == '+' ? is_set : !is_set);
    const std::string word = expand(uses_word, depth);
    if (at_end()) throw unterminated(start);
    ++pos_;  // the closing '}'

    if (!evaluate) return "";
    if (op == '?' && !is_set) throw missing(name, word);
    if (op == '+') return is_set ? word : "";
    return is_set ? *value : word;
  }

  std::string read_name() {
    const std::size_t begin = pos_;
    if (!is_name_start(peek())) return "";
    while (!at_end() && is_name_char(text_[pos_])) ++pos_;
    return text_.substr(begin, pos_ - begin);
  }

  // The reference starting at `start`, up to its first '}', for messages.
  std::string quoted(std::size_t start) const {
    const std::size_t close = text_.find('}', start);
    const std::size_t end = close == std::string::npos ? text_.size() : close + 1;
    if (end - start <= max_quoted) return "'" + text_.substr(start, end - start) + "'";
    return "'" + text_.substr(start, max_quoted) + "...'";
  }

  std::invalid_argument malformed(std::size_t start, const std::string& why) const {
    return std::invalid_argument("invalid reference " + quoted(start) + ": " + why + " (write $$ for a literal $)");
  }

  std::invalid_argument unterminated(std::size_t start) const {
    return std::invalid_argument("unterminated reference " + quoted(start) + ": missing '}'");
  }

  static std::invalid_argument missing(const std::string& name, const std::string& message) {
    std::string text = "required variable " + name + " is missing a value";
    if (!message.empty()) text += ": " + message;
    return std::invalid_argument(text);
  }

  const std::string& text_;
  const EnvLookup& env_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string interpolate(const std::string& text, const EnvLookup& env) { return Interpolator(text, env).run(); }

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

}  // namespace dockform::manifest
