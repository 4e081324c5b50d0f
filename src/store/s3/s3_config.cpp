#include <cstdlib>
#include <fstream>
#include <map>

#include "dockform/store/s3/s3_client.hpp"

namespace dockform::store {

namespace {
using IniSection = std::map<std::string, std::string>;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string strip_blanks(const std::string& text) {
  auto start = text.find_first_not_of(" \t\r");
  if (start == std::string::npos) return "";
  auto end = text.find_last_not_of(" \t\r");
  return text.substr(start, end - start + 1);
}

// One [section] of an AWS-style INI file; empty when the file or the section is missing.
IniSection read_section(const std::string& file, const std::string& section) {
  IniSection values;
  std::ifstream in(file);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    line = strip_blanks(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      inside = strip_blanks(line.substr(1, line.size() - 2)) == section;
      continue;
    }
    auto equals = line.find('=');
    if (inside && equals != std::string::npos)
      values[strip_blanks(line.substr(0, equals))] = strip_blanks(line.substr(equals + 1));
  }
  return values;
}

std::string aws_file(const char* variable, const char* name) {
  if (auto set = env(variable); !set.empty()) return set;
  return env("HOME") + "/.aws/" + name;
}
}  // namespace

S3Config S3Config::from_environment() {
  S3Config config;
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  auto credentials = read_section(aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), profile);
  // ~/.aws/config names profiles "[profile NAME]", except the default one.
  auto settings =
      read_section(aws_file("AWS_CONFIG_FILE", "config"), profile == "default" ? profile : "profile " + profile);

  config.access_key = env("AWS_ACCESS_KEY_ID");
  config.secret_key = env("AWS_SECRET_ACCESS_KEY");
  config.session_token = env("AWS_SESSION_TOKEN");
  if (config.access_key.empty() || config.secret_key.empty()) {
    config.access_key = credentials["aws_access_key_id"];
    config.secret_key = credentials["aws_secret_access_key"];
    config.session_token = credentials["aws_session_token"];
  }
  for (const auto& candidate : {env("AWS_REGION"), env("AWS_DEFAULT_REGION"), settings["region"]}) {
    if (!candidate.empty()) {
      config.region = candidate;
      break;
    }
  }
  for (const auto& candidate : {env("AWS_ENDPOINT_URL_S3"), env("AWS_ENDPOINT_URL"), settings["endpoint_url"]}) {
    if (!candidate.empty()) {
      config.endpoint = candidate;
      break;
    }
  }
  while (!config.endpoint.empty() && config.endpoint.back() == '/') config.endpoint.pop_back();
  config.ca_bundle = env("AWS_CA_BUNDLE");
  if (auto attempts = env("DOCKFORM_S3_MAX_ATTEMPTS"); !attempts.empty()) {
    config.max_attempts = std::max(1, std::atoi(attempts.c_str()));
  }
  return config;
}

}  // namespace dockform::store
