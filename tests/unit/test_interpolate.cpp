// Compose-style interpolation: every form, nesting, and malformed input.
#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "dockform/manifest/manifest.hpp"
#include "test_support.hpp"

namespace dockform::manifest {
namespace {

// A fixed environment: SET=value, EMPTY is set but empty, UNSET is not set.
EnvLookup fixed_env() {
  return test::env_of({{"SET", "value"}, {"EMPTY", ""}, {"OTHER", "other"}, {"CMD", "$(touch /tmp/x)"}});
}

std::string expand(const std::string& text) { return interpolate(text, fixed_env()); }

// The message of the invalid_argument that interpolating `text` throws.
std::string failure(const std::string& text) {
  SCOPED_TRACE("interpolating " + text);
  return test::message_of<std::invalid_argument>([&] { expand(text); });
}

TEST(Interpolate, TextWithoutReferencesIsUnchanged) {
  EXPECT_EQ(expand(""), "");
  EXPECT_EQ(expand("plain text {with} braces"), "plain text {with} braces");
}

TEST(Interpolate, BracedAndBareNames) {
  EXPECT_EQ(expand("${SET}"), "value");
  EXPECT_EQ(expand("$SET"), "value");
  EXPECT_EQ(expand("a-${SET}-b"), "a-value-b");
  EXPECT_EQ(expand("$SET-x"), "value-x");
  EXPECT_EQ(expand("$SET.x"), "value.x");
  // A bare name is as long as it can be.
  EXPECT_EQ(expand("$SET_more"), "");
  EXPECT_EQ(expand("${SET}_more"), "value_more");
  EXPECT_EQ(expand("$SET$OTHER"), "valueother");
}

TEST(Interpolate, UnsetWithoutDefaultIsEmpty) {
  EXPECT_EQ(expand("[${UNSET}]"), "[]");
  EXPECT_EQ(expand("[$UNSET]"), "[]");
  EXPECT_EQ(expand("[${EMPTY}]"), "[]");
}

TEST(Interpolate, DoubleDollarIsALiteralDollar) {
  EXPECT_EQ(expand("$$"), "$");
  EXPECT_EQ(expand("$$SET"), "$SET");
  EXPECT_EQ(expand("$${SET}"), "${SET}");
  EXPECT_EQ(expand("$$$SET"), "$value");
  EXPECT_EQ(expand("a$$$$b"), "a$$b");
}

TEST(Interpolate, DollarBeforeAnythingElseStaysLiteral) {
  EXPECT_EQ(expand("$"), "$");
  EXPECT_EQ(expand("cost: 5$"), "cost: 5$");
  EXPECT_EQ(expand("$1"), "$1");
  EXPECT_EQ(expand("$ x"), "$ x");
  EXPECT_EQ(expand("$2y$10"), "$2y$10");
}

TEST(Interpolate, NeverRunsCommands) {
  EXPECT_EQ(expand("$(echo hi)"), "$(echo hi)");
  EXPECT_EQ(expand("`echo hi`"), "`echo hi`");
  // A value that looks like a command is inserted as text, not expanded again.
  EXPECT_EQ(expand("${CMD}"), "$(touch /tmp/x)");
  EXPECT_EQ(expand("${UNSET:-$(echo hi)}"), "$(echo hi)");
}

TEST(Interpolate, ColonDashDefaultsWhenUnsetOrEmpty) {
  EXPECT_EQ(expand("${SET:-d}"), "value");
  EXPECT_EQ(expand("${EMPTY:-d}"), "d");
  EXPECT_EQ(expand("${UNSET:-d}"), "d");
  EXPECT_EQ(expand("${UNSET:-}"), "");
  EXPECT_EQ(expand("${UNSET:-two words}"), "two words");
}

TEST(Interpolate, DashDefaultsOnlyWhenUnset) {
  EXPECT_EQ(expand("${SET-d}"), "value");
  EXPECT_EQ(expand("${EMPTY-d}"), "");
  EXPECT_EQ(expand("${UNSET-d}"), "d");
}

TEST(Interpolate, PlusGivesTheAlternativeWhenSet) {
  EXPECT_EQ(expand("${SET:+alt}"), "alt");
  EXPECT_EQ(expand("${EMPTY:+alt}"), "");
  EXPECT_EQ(expand("${EMPTY+alt}"), "alt");
  EXPECT_EQ(expand("${UNSET+alt}"), "");
}

TEST(Interpolate, ColonQuestionFailsWhenUnsetOrEmpty) {
  EXPECT_EQ(expand("${SET:?needed}"), "value");
  EXPECT_EQ(failure("${UNSET:?set it in .env}"), "required variable UNSET is missing a value: set it in .env");
  EXPECT_EQ(failure("${EMPTY:?set it}"), "required variable EMPTY is missing a value: set it");
  EXPECT_EQ(failure("${UNSET:?}"), "required variable UNSET is missing a value");
}

TEST(Interpolate, QuestionFailsOnlyWhenUnset) {
  EXPECT_EQ(expand("${EMPTY?needed}"), "");
  EXPECT_EQ(failure("${UNSET?needed}"), "required variable UNSET is missing a value: needed");
}

TEST(Interpolate, DefaultsMayHoldReferences) {
  EXPECT_EQ(expand("${UNSET:-${SET}}"), "value");
  EXPECT_EQ(expand("${UNSET:-$SET/x}"), "value/x");
  EXPECT_EQ(expand("${UNSET:-${ALSO_UNSET:-${OTHER}}}"), "other");
  EXPECT_EQ(expand("${UNSET:-a${SET}b}c"), "avaluebc");
  EXPECT_EQ(expand("${UNSET:-$$}"), "$");
  EXPECT_EQ(expand("${UNSET:-{x}}"), "{x}");
  EXPECT_EQ(failure("${UNSET:?missing ${SET}}"), "required variable UNSET is missing a value: missing value");
}

TEST(Interpolate, UnusedDefaultIsNotEvaluated) {
  EXPECT_EQ(expand("${SET:-${UNSET:?boom}}"), "value");
  EXPECT_EQ(expand("${SET?${UNSET:?boom}}"), "value");
  EXPECT_EQ(expand("${UNSET:+${UNSET:?boom}}"), "");
}

TEST(Interpolate, UnterminatedReferenceIsRejected) {
  EXPECT_EQ(failure("${"), "unterminated reference '${': missing '}'");
  EXPECT_EQ(failure("x ${SET"), "unterminated reference '${SET': missing '}'");
  EXPECT_EQ(failure("${SET:"), "unterminated reference '${SET:': missing '}'");
  EXPECT_EQ(failure("${UNSET:-default"), "unterminated reference '${UNSET:-default': missing '}'");
  EXPECT_EQ(failure("${UNSET:-${SET}"), "unterminated reference '${UNSET:-${SET}': missing '}'");
}

TEST(Interpolate, InvalidNameIsRejected) {
  const std::string hint = "expected a variable name (a letter or '_', then letters, digits, '_')";
  EXPECT_EQ(failure("${}"), "invalid reference '${}': " + hint + " (write $$ for a literal $)");
  EXPECT_EQ(failure("${1A}"), "invalid reference '${1A}': " + hint + " (write $$ for a literal $)");
  EXPECT_EQ(failure("${-x}"), "invalid reference '${-x}': " + hint + " (write $$ for a literal $)");
}

TEST(Interpolate, UnknownOperatorIsRejected) {
  const std::string hint = "expected '}', ':-', '-', ':?', '?', ':+' or '+' after the name";
  EXPECT_EQ(failure("${SET B}"), "invalid reference '${SET B}': " + hint + " (write $$ for a literal $)");
  EXPECT_EQ(failure("${SET#x}"), "invalid reference '${SET#x}': " + hint + " (write $$ for a literal $)");
  EXPECT_EQ(failure("${SET:x}"), "invalid reference '${SET:x}': " + hint + " (write $$ for a literal $)");
  // A malformed default is an error even when the default is not needed.
  EXPECT_NE(failure("${SET:-${1}}").find("invalid reference '${1}'"), std::string::npos);
}

TEST(Interpolate, LongReferenceIsShortenedInMessages) {
  const std::string message = failure("${" + std::string(100, 'A'));
  EXPECT_EQ(message, "unterminated reference '${" + std::string(38, 'A') + "...': missing '}'");
}

TEST(Interpolate, DeepNestingIsRefusedWithoutRecursingFurther) {
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "${UNSET:-";
  nested += "x";
  nested += std::string(100000, '}');
  EXPECT_EQ(failure(nested), "references nested more than 32 levels deep");

  std::string allowed;
  for (int i = 0; i < 32; ++i) allowed += "${UNSET:-";
  allowed += "x" + std::string(32, '}');
  EXPECT_EQ(expand(allowed), "x");
}

TEST(ProcessEnv, ReadsTheEnvironment) {
  ASSERT_EQ(::setenv("DOCKFORM_TEST_SET", "from env", 1), 0);
  ASSERT_EQ(::setenv("DOCKFORM_TEST_EMPTY", "", 1), 0);
  ASSERT_EQ(::unsetenv("DOCKFORM_TEST_UNSET"), 0);
  const EnvLookup env = process_env();
  EXPECT_EQ(env("DOCKFORM_TEST_SET"), "from env");
  EXPECT_EQ(env("DOCKFORM_TEST_EMPTY"), "");
  EXPECT_EQ(env("DOCKFORM_TEST_UNSET"), std::nullopt);
  EXPECT_EQ(interpolate("${DOCKFORM_TEST_SET}|${DOCKFORM_TEST_EMPTY-d}|${DOCKFORM_TEST_UNSET-d}", env), "from env||d");
}

}  // namespace
}  // namespace dockform::manifest
