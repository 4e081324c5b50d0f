#include "dockform/archive/sidecar.hpp"

#include <fstream>
#include <sstream>

#include "dockform/util/error.hpp"

namespace dockform::archive {

nlohmann::ordered_json sidecar_to_json(const Sidecar& sidecar) {
  nlohmann::ordered_json json;
  json["dockform_version"] = sidecar.dockform_version;
  json["created_at"] = sidecar.created_at;
  json["volume_name"] = sidecar.volume_name;
  json["spec_hash"] = sidecar.spec_hash;
  json["driver"] = sidecar.driver;
  json["driver_opts"] = nlohmann::ordered_json::object();
  for (const auto& [key, value] : sidecar.driver_opts) json["driver_opts"][key] = value;
  json["labels"] = nlohmann::ordered_json::object();
  for (const auto& [key, value] : sidecar.labels) json["labels"][key] = value;
  json["uncompressed_bytes"] = sidecar.uncompressed_bytes;
  json["file_count"] = sidecar.file_count;
  json["checksum"] = {{"algo", sidecar.checksum_algo}, {"tar_zst", sidecar.checksum}};
  if (sidecar.encryption) json["checksum"]["tar_zst_age"] = sidecar.encryption->stored_sha256;
  if (sidecar.tar_sha256) json["tar_sha256"] = *sidecar.tar_sha256;
  if (sidecar.index_sha256) json["index_sha256"] = *sidecar.index_sha256;
  if (!sidecar.excludes.empty()) json["excludes"] = sidecar.excludes;
  if (sidecar.notes) json["notes"] = *sidecar.notes;
  if (const auto& encryption = sidecar.encryption) {
    json["encryption"] = {{"format", encryption->format}};
    if (encryption->passphrase) {
      json["encryption"]["passphrase"] = true;
    } else {
      json["encryption"]["recipients"] = encryption->recipients;
    }
  }
  return json;
}

std::string sidecar_text(const Sidecar& sidecar) { return sidecar_to_json(sidecar).dump(2) + "\n"; }

namespace {
[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw Error("sidecar " + source + " is malformed: " + what);
}

bool is_hex_sha256(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string string_field(const nlohmann::json& json, const char* key, const std::string& source, bool required) {
  if (!json.contains(key)) {
    if (required) bad(source, std::string("missing field '") + key + "'");
    return "";
  }
  if (!json[key].is_string()) bad(source, std::string("field '") + key + "' must be a string");
  return json[key].get<std::string>();
}

std::uint64_t count_field(const nlohmann::json& json, const char* key, const std::string& source) {
  if (!json.contains(key)) return 0;
  if (!json[key].is_number_unsigned() && !(json[key].is_number_integer() && json[key].get<std::int64_t>() >= 0)) {
    bad(source, std::string("field '") + key + "' must be a non-negative integer");
  }
  return json[key].get<std::uint64_t>();
}

std::map<std::string, std::string> map_field(const nlohmann::json& json, const char* key, const std::string& source) {
  std::map<std::string, std::string> out;
  if (!json.contains(key) || json[key].is_null()) return out;
  if (!json[key].is_object()) bad(source, std::string("field '") + key + "' must be an object");
  for (const auto& [name, value] : json[key].items()) {
    if (!value.is_string()) bad(source, std::string("field '") + key + "." + name + "' must be a string");
    out[name] = value.get<std::string>();
  }
  return out;
}

// The encryption block and the stored file's SHA-256 beside checksum.tar_zst.
Encryption parse_encryption(const nlohmann::json& json, const std::string& source) {
  const auto& block = json["encryption"];
  if (!block.is_object()) bad(source, "field 'encryption' must be an object");
  Encryption encryption;
  encryption.format = string_field(block, "format", source, true);
  if (encryption.format != "age") bad(source, "unsupported encryption format '" + encryption.format + "'");
  if (block.contains("passphrase")) {
    if (!block["passphrase"].is_boolean()) bad(source, "field 'encryption.passphrase' must be true or false");
    encryption.passphrase = block["passphrase"].get<bool>();
  }
  if (block.contains("recipients")) {
    if (!block["recipients"].is_array()) bad(source, "field 'encryption.recipients' must be a list of strings");
    for (const auto& recipient : block["recipients"]) {
      if (!recipient.is_string()) bad(source, "field 'encryption.recipients' must be a list of strings");
      encryption.recipients.push_back(recipient.get<std::string>());
    }
  }
  encryption.stored_sha256 = string_field(json["checksum"], "tar_zst_age", source, true);
  if (!is_hex_sha256(encryption.stored_sha256)) bad(source, "checksum.tar_zst_age is not a lower-case hex SHA-256");
  return encryption;
}
}  // namespace

Sidecar parse_sidecar(const std::string& text, const std::string& source) {
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad(source, std::string("not JSON (") + e.what() + ")");
  }
  if (!json.is_object()) bad(source, "not a JSON object");
  Sidecar sidecar;
  sidecar.dockform_version = string_field(json, "dockform_version", source, false);
  sidecar.created_at = string_field(json, "created_at", source, false);
  sidecar.volume_name = string_field(json, "volume_name", source, true);
  sidecar.spec_hash = string_field(json, "spec_hash", source, false);
  sidecar.driver = string_field(json, "driver", source, false);
  sidecar.driver_opts = map_field(json, "driver_opts", source);
  sidecar.labels = map_field(json, "labels", source);
  sidecar.uncompressed_bytes = count_field(json, "uncompressed_bytes", source);
  sidecar.file_count = count_field(json, "file_count", source);
  if (!json.contains("checksum") || !json["checksum"].is_object()) bad(source, "missing object 'checksum'");
  const auto& checksum = json["checksum"];
  sidecar.checksum_algo = string_field(checksum, "algo", source, true);
  if (sidecar.checksum_algo != "sha256") bad(source, "unsupported checksum algorithm '" + sidecar.checksum_algo + "'");
  sidecar.checksum = string_field(checksum, "tar_zst", source, true);
  if (!is_hex_sha256(sidecar.checksum)) bad(source, "checksum.tar_zst is not a lower-case hex SHA-256");
  if (json.contains("tar_sha256")) {
    sidecar.tar_sha256 = string_field(json, "tar_sha256", source, false);
    if (!is_hex_sha256(*sidecar.tar_sha256)) bad(source, "tar_sha256 is not a lower-case hex SHA-256");
  }
  if (json.contains("index_sha256")) {
    sidecar.index_sha256 = string_field(json, "index_sha256", source, false);
    if (!is_hex_sha256(*sidecar.index_sha256)) bad(source, "index_sha256 is not a lower-case hex SHA-256");
  }
  if (json.contains("excludes")) {
    if (!json["excludes"].is_array()) bad(source, "field 'excludes' must be a list of strings");
    for (const auto& pattern : json["excludes"]) {
      if (!pattern.is_string()) bad(source, "field 'excludes' must be a list of strings");
      sidecar.excludes.push_back(pattern.get<std::string>());
    }
  }
  if (json.contains("notes") && !json["notes"].is_null()) sidecar.notes = string_field(json, "notes", source, false);
  if (json.contains("encryption")) sidecar.encryption = parse_encryption(json, source);
  return sidecar;
}

Sidecar read_sidecar(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("cannot read sidecar " + file.string());
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) throw Error("sidecar " + file.string() + " is malformed: larger than 1 MiB");
  return parse_sidecar(text.str(), file.string());
}

namespace {
std::string strip_data_extension(const std::string& name) {
  for (const char* ext : {".tar.zst.age", ".tar.zst", ".tar"}) {
    std::string suffix = ext;
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return name.substr(0, name.size() - suffix.size());
    }
  }
  return name;
}
}  // namespace

std::filesystem::path sidecar_for(const std::filesystem::path& data_file) {
  return data_file.parent_path() / (strip_data_extension(data_file.filename().string()) + ".json");
}

std::filesystem::path legacy_sidecar_for(const std::filesystem::path& data_file) {
  auto name = data_file.filename().string();
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".zst") == 0) name.resize(name.size() - 4);
  return data_file.parent_path() / (name + ".json");
}

}  // namespace dockform::archive
