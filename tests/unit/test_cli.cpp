// The command line as CLI11 defines it, against what the bash completion offers.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "commands.hpp"

namespace dockform::cli {
namespace {

// Every flag of `command` as typed: "-o", "--output"; --help left out (every command has it).
std::vector<std::string> flags_of(const CLI::App& command) {
  std::vector<std::string> flags;
  for (const CLI::Option* option : command.get_options()) {
    if (option == command.get_help_ptr() || !option->nonpositional()) continue;
    for (const std::string& name : option->get_snames()) flags.push_back("-" + name);
    for (const std::string& name : option->get_lnames()) flags.push_back("--" + name);
  }
  return flags;
}

// The words of the completion script from the case pattern that names `key`
// ("volume/snapshot", "plan/") to the end of its branch (";;").
std::set<std::string> words_for(const std::string& script, const std::string& key) {
  std::size_t at = std::string::npos;
  for (const char* after : {")", "|"}) {
    for (std::size_t found = script.find(key + after); found != std::string::npos;
         found = script.find(key + after, found + 1)) {
      const char before = found == 0 ? ' ' : script[found - 1];
      if (before == ' ' || before == '|') {
        at = found;
        break;
      }
    }
    if (at != std::string::npos) break;
  }
  std::set<std::string> words;
  if (at == std::string::npos) return words;
  const std::string branch = script.substr(at, script.find(";;", at) - at);
  std::string word;
  for (const char c : branch + " ") {
    if (c == ' ' || c == '"' || c == '(' || c == ')' || c == '\n') {
      if (!word.empty()) words.insert(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return words;
}

TEST(BashCompletion, OffersEveryFlagOfEveryCommand) {
  CLI::App app{"dockform", "dockform"};
  CliState state;
  define_app(app, state);
  const std::string script = bash_completion_script();

  // Global flags: the `global` word list.
  const std::size_t global_at = script.find("local global=\"");
  ASSERT_NE(global_at, std::string::npos);
  const std::size_t list_at = global_at + std::string("local global=\"").size();
  const std::string global = " " + script.substr(list_at, script.find('"', list_at) - list_at) + " ";
  for (const std::string& flag : flags_of(app)) {
    EXPECT_NE(global.find(" " + flag + " "), std::string::npos) << "global flag " << flag;
  }

  std::vector<std::pair<std::string, const CLI::App*>> commands;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    const auto subcommands = command->get_subcommands([](const CLI::App*) { return true; });
    if (subcommands.empty()) commands.emplace_back(command->get_name() + "/", command);
    for (const CLI::App* sub : subcommands) commands.emplace_back(command->get_name() + "/" + sub->get_name(), sub);
  }
  ASSERT_GE(commands.size(), 10u);
  for (const auto& [key, command] : commands) {
    if (key == "completion/") {
      EXPECT_EQ(words_for(script, "completion/*").count("bash"), 1u) << "completion offers its shell";
      continue;
    }
    const std::set<std::string> offered = words_for(script, key);
    for (const std::string& flag : flags_of(*command)) {
      EXPECT_EQ(offered.count(flag), 1u) << key << " does not offer " << flag;
    }
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
