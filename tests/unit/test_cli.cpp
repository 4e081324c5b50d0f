// The command line as CLI11 defines it, against what the bash completion offers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"

namespace dockform::cli {
namespace {

// Every flag of `command` as typed: "-o", "--output"; --help left out (every
// command has it), and --version (the top level's own).
std::vector<std::string> flags_of(const CLI::App& command) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : command.get_options()) {
    if (option == command.get_help_ptr() || option == command.get_version_ptr() || !option->nonpositional()) continue;
    for (const std::string& name : option->get_snames()) flags.push_back("-" + name);
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  }
  return flags;
}

// The command line in the order of `dockform` itself: each command with the
// words that name it ("volume snapshot"), the global flags first (key "").
std::vector<std::pair<std::string, const CLI::App*>> commands_of(const CLI::App& app) {
  std::vector<std::pair<std::string, const CLI::App*>> commands{{"", &app}};
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    const auto subcommands = command->get_subcommands([](const CLI::App*) { return true; });
    if (subcommands.empty()) commands.emplace_back(command->get_name(), command);
    for (const CLI::App* sub : subcommands) commands.emplace_back(command->get_name() + " " + sub->get_name(), sub);
  }
  return commands;
}

// What the completion script offers after `typed` (words, the last one the
// one being completed), run by bash as a shell would; "_dockform-failed" when
// the function's status is not 0.
std::set<std::string> complete(const std::filesystem::path& script, const std::string& typed) {
  const std::string command =
      "bash -c 'source " + script.string() + "; COMP_WORDS=(dockform " + typed +
      "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _dockform || echo _dockform-failed; printf \"%s\\n\" "
      "\"${COMPREPLY[@]}\"' 2>&1";
  std::set<std::string> words;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return words;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    std::string word(line);
    while (!word.empty() && word.back() == '\n') word.pop_back();
    words.insert(word);
  }
  ::pclose(pipe);
  return words;
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(BashCompletion, OffersEveryFlagHelpAndTheGlobalFlagsAfterEveryCommand) {
  CLI::App app{"dockform", "dockform"};
  CliState state;
  define_app(app, state);
  const auto script = std::filesystem::path(::testing::TempDir()) / "dockform-completion.bash";
  std::ofstream(script) << bash_completion_script(app);

  const auto commands = commands_of(app);
  ASSERT_GE(commands.size(), 12u);
  const auto global = flags_of(app);
  for (const auto& [key, command] : commands) {
    const std::set<std::string> offered = complete(script, key + " -");
    for (const std::string& flag : flags_of(*command)) EXPECT_EQ(offered.count(flag), 1u) << key << ": " << flag;
    for (const std::string& flag : global) EXPECT_EQ(offered.count(flag), 1u) << key << ": global " << flag;
    for (const char* help : {"-h", "--help"}) EXPECT_EQ(offered.count(help), 1u) << key << ": " << help;
  }
  EXPECT_EQ(complete(script, "--vers"), std::set<std::string>{"--version"});
  EXPECT_EQ(complete(script, "volume sn"), std::set<std::string>{"snapshot"});
  EXPECT_EQ(complete(script, "completion \"\""), std::set<std::string>{"bash"});
  EXPECT_EQ(complete(script, "volume snapshot --log-level w"), std::set<std::string>{"warn"});
}

// The text of `document` from the first line starting with `from` up to the
// first line after it starting with one of `to` (or the end).
std::string section(const std::string& document, const std::string& from, const std::vector<std::string>& to) {
  const std::size_t start = document.find("\n" + from);
  if (start == std::string::npos) return "";
  std::size_t end = std::string::npos;
  for (const std::string& next : to) end = std::min(end, document.find("\n" + next, start + 1 + from.size()));
  return document.substr(start + 1, end == std::string::npos ? std::string::npos : end - start - 1);
}

// The man page's text without its font escapes: "\fB\-\-json\fR" is "--json".
std::string plain_man(std::string text) {
  for (const char* escape : {"\\fB", "\\fR", "\\fI"}) {
    for (std::size_t at = text.find(escape); at != std::string::npos; at = text.find(escape, at)) text.erase(at, 3);
  }
  for (std::size_t at = text.find("\\-"); at != std::string::npos; at = text.find("\\-", at)) text.erase(at, 1);
  return text;
}

// Whether `text` names a flag: one of its names as a word of its own, or
// NOTIFY for the notification flags (docs/cron.md).
bool names_flag(const std::string& text, const CLI::Option& option) {
  static const std::set<std::string> notify{"ping", "webhook", "webhook-on", "metrics-file", "metrics-push"};
  if (notify.count(option.get_name()) != 0 || notify.count(option.get_lnames().empty() ? "" : option.get_lnames()[0])) {
    if (text.find("NOTIFY") != std::string::npos) return true;
  }
  std::vector<std::string> typed;
  for (const std::string& name : option.get_snames()) typed.push_back("-" + name);
  for (const std::string& name : option.get_lnames()) typed.push_back("--" + name);
  auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; };
  for (const std::string& flag : typed) {
    for (std::size_t at = text.find(flag); at != std::string::npos; at = text.find(flag, at + 1)) {
      const char before = at == 0 ? ' ' : text[at - 1];
      const char after = at + flag.size() < text.size() ? text[at + flag.size()] : ' ';
      if (!word_char(before) && !word_char(after)) return true;
    }
  }
  return false;
}

// The man page's synopsis and the README's usage block name every command and
// every flag of it; both, and --help's footer, every exit code.
TEST(UserSurface, ManPageAndReadmeNameEveryFlagAndExitCode) {
  CLI::App app{"dockform", "dockform"};
  CliState state;
  define_app(app, state);
  const std::filesystem::path source = DOCKFORM_SOURCE_DIR;
  const std::string man = plain_man(read_text(source / "docs/dockform.1"));
  const std::string readme = read_text(source / "README.md");
  const std::string synopsis = section(man, ".SH SYNOPSIS", {".SH"});
  const std::string globals = section(man, ".SH GLOBAL FLAGS", {".SH"});
  const std::string usage = section(section(readme, "## Usage", {"## "}), "```", {"```"});
  ASSERT_FALSE(synopsis.empty());
  ASSERT_FALSE(usage.empty());
  for (const auto& [key, command] : commands_of(app)) {
    const std::string in_man = key.empty() ? globals : section(synopsis, ".B dockform " + key, {".br", ".SH"});
    const std::string in_readme = key.empty() ? section(usage, "dockform [global flags]", {"dockform "})
                                              : section(usage + "\n", "dockform " + key, {"dockform ", "\n"});
    EXPECT_FALSE(in_man.empty() && key.find(' ') != std::string::npos) << "man page synopsis lacks " << key;
    EXPECT_NE(usage.find(key), std::string::npos) << "README usage lacks " << key;
    for (const CLI::Option* option : command->get_options()) {
      if (option == command->get_help_ptr() || option == command->get_version_ptr() || !option->nonpositional())
        continue;
      if (key.find(' ') == std::string::npos && !key.empty()) continue;  // version, plan, ...: one line for all
      EXPECT_TRUE(names_flag(in_man, *option)) << "man page: " << key << " " << option->get_name();
      EXPECT_TRUE(names_flag(in_readme, *option)) << "README usage: " << key << " " << option->get_name();
    }
  }
  const std::string status = section(man, ".SH EXIT STATUS", {".SH"});
  const std::string codes = section(readme, "## Exit codes", {"## "});
  for (int code = 0; code <= static_cast<int>(Exit::stale); ++code) {
    const std::string number = std::to_string(code);
    EXPECT_NE(status.find(".B " + number + "\n"), std::string::npos) << "man page exit status " << code;
    EXPECT_NE(codes.find("| " + number + " |"), std::string::npos) << "README exit code " << code;
    EXPECT_NE(app.get_footer().find("  " + number + "  "), std::string::npos) << "--help exit code " << code;
  }
}

// prune's retention: the manifest's snapshots.keep unless a --keep-* flag is
// given; then the flags alone (a rule they leave out is 0, not the manifest's).
TEST(PrunePolicy, FlagsOverrideTheManifestsKeep) {
  manifest::Manifest with_keep;
  with_keep.snapshots.keep = manifest::KeepSettings{7, 14, 8, 12};
  store::RetentionPolicy flags;
  flags.keep_last = 2;

  auto from_manifest = prune_policy(false, {}, with_keep);
  EXPECT_EQ(from_manifest.keep_last, 7);
  EXPECT_EQ(from_manifest.keep_daily, 14);
  EXPECT_EQ(from_manifest.keep_weekly, 8);
  EXPECT_EQ(from_manifest.keep_monthly, 12);

  auto from_flags = prune_policy(true, flags, with_keep);
  EXPECT_EQ(from_flags.keep_last, 2);
  EXPECT_EQ(from_flags.keep_daily, 0);
  EXPECT_EQ(from_flags.keep_weekly, 0);
  EXPECT_EQ(from_flags.keep_monthly, 0);

  manifest::Manifest without_keep;
  EXPECT_EQ(prune_policy(true, flags, without_keep).keep_last, 2);
  try {
    prune_policy(false, {}, without_keep);
    ADD_FAILURE() << "no flag and no snapshots.keep must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Exit::usage);
    EXPECT_NE(std::string(e.what()).find("snapshots.keep"), std::string::npos) << e.what();
  }
}

// --version prints one line and exits 0, without a subcommand; `version` starts with that line.
TEST(Version, FlagPrintsOneLine) {
  CLI::App app{"dockform", "dockform"};
  CliState state;
  define_app(app, state);
  const char* argv[] = {"dockform", "--version"};
  try {
    app.parse(2, const_cast<char**>(argv));
    ADD_FAILURE() << "--version must end the parse";
  } catch (const CLI::CallForVersion& e) {
    testing::internal::CaptureStdout();
    EXPECT_EQ(app.exit(e), 0);
    const std::string out = testing::internal::GetCapturedStdout();
    EXPECT_EQ(out, version_line() + "\n");
  }
  EXPECT_EQ(version_line().rfind("dockform ", 0), 0u);
}

}  // namespace
}  // namespace dockform::cli
