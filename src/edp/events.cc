#include "halo/edp/events.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "halo/common/status_macros.h"
#include "halo/common/timestamp.h"
#include "halo/crypto/sha256.h"
#include "halo/edp/v1/event_file.pb.h"

namespace halo::edp {
namespace {

// A CSV header's type names, and the columnar file's types.
std::optional<FieldType> FieldTypeNamed(absl::string_view name) {
  if (name == "int") return FieldType::kInt;
  if (name == "double") return FieldType::kDouble;
  if (name == "string") return FieldType::kString;
  if (name == "bool") return FieldType::kBool;
  return std::nullopt;
}

const char* FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kInt: return "int";
    case FieldType::kDouble: return "double";
    case FieldType::kString: return "string";
    case FieldType::kBool: return "bool";
  }
  return "int";
}

std::optional<FieldType> FromFileType(v1::EventFileHeader::FieldType type) {
  switch (type) {
    case v1::EventFileHeader::INT: return FieldType::kInt;
    case v1::EventFileHeader::DOUBLE: return FieldType::kDouble;
    case v1::EventFileHeader::STRING: return FieldType::kString;
    case v1::EventFileHeader::BOOL: return FieldType::kBool;
    default: return std::nullopt;
  }
}

v1::EventFileHeader::FieldType ToFileType(FieldType type) {
  switch (type) {
    case FieldType::kInt: return v1::EventFileHeader::INT;
    case FieldType::kDouble: return v1::EventFileHeader::DOUBLE;
    case FieldType::kString: return v1::EventFileHeader::STRING;
    case FieldType::kBool: return v1::EventFileHeader::BOOL;
  }
  return v1::EventFileHeader::INT;
}

constexpr absl::string_view kColumnarMagic("HALOEV1\n", 8);

// Builds a StringColumn, finding each value's dictionary entry by hash.
class StringColumnBuilder {
 public:
  explicit StringColumnBuilder(StringColumn& column) : column_(column) {}
  void Append(absl::string_view value) {
    auto [it, added] = index_.try_emplace(std::string(value), static_cast<uint32_t>(column_.dictionary.size()));
    if (added) column_.dictionary.emplace_back(value);
    column_.ids.push_back(it->second);
  }

 private:
  StringColumn& column_;
  absl::flat_hash_map<std::string, uint32_t> index_;
};

// Splits one CSV line into `out`; refuses an unterminated quote or text
// after a closing quote.
absl::Status SplitCsvLine(absl::string_view line, std::vector<std::string>& out) {
  out.clear();
  size_t i = 0;
  while (true) {
    std::string& value = out.emplace_back();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return absl::InvalidArgumentError("a quoted value has no closing quote");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            value.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != ',') {
        return absl::InvalidArgumentError(absl::StrCat("text after a closing quote at character ", i + 1));
      }
    } else {
      const size_t comma = line.find(',', i);
      const size_t end = comma == absl::string_view::npos ? line.size() : comma;
      const absl::string_view piece = line.substr(i, end - i);
      value.assign(piece.data(), piece.size());
      i = end;
    }
    if (i >= line.size()) return absl::OkStatus();
    ++i;  // the comma
  }
}

absl::StatusOr<int64_t> ParseTimestamp(absl::string_view text) {
  if (std::optional<int64_t> micros = ParseTimestampMicros(text)) return *micros;
  return absl::InvalidArgumentError(
      absl::StrCat("timestamp \"", text, "\" is neither microseconds since the epoch nor RFC 3339"));
}

class CsvEventReader final : public EventReader {
 public:
  static absl::StatusOr<std::unique_ptr<EventReader>> Open(const std::string& path) {
    auto reader = std::unique_ptr<CsvEventReader>(new CsvEventReader(path));
    RETURN_IF_ERROR(reader->ReadHeader());
    return std::unique_ptr<EventReader>(std::move(reader));
  }

  absl::StatusOr<bool> Next(EventBatch& batch) override {
    batch.Clear(schema_.fields().size());
    StringColumnBuilder groups(batch.event_groups);
    std::vector<std::unique_ptr<StringColumnBuilder>> strings;
    for (EventColumn& column : batch.columns) strings.push_back(std::make_unique<StringColumnBuilder>(column.strings));
    while (batch.size() < kEventBatchRows) {
      if (!has_pending_ && !ReadDataLine()) break;
      has_pending_ = false;
      absl::Status row = AppendRow(batch, groups, strings);
      if (!row.ok()) return absl::InvalidArgumentError(absl::StrCat(path_, ":", line_number_, ": ", row.message()));
    }
    if (in_.bad()) return absl::DataLossError(absl::StrCat(path_, ": read failed after line ", line_number_));
    return batch.size() > 0;
  }

 private:
  explicit CsvEventReader(std::string path) : path_(std::move(path)), in_(path_) {}

  // Reads the next non-empty line into pending_; false at the end.
  bool ReadDataLine() {
    while (std::getline(in_, pending_)) {
      ++line_number_;
      if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
      if (!absl::StripAsciiWhitespace(pending_).empty()) return true;
    }
    return false;
  }

  absl::Status HeaderError(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat(path_, ":1: ", what));
  }

  absl::Status ReadHeader() {
    if (!in_) return absl::NotFoundError(absl::StrCat(path_, ": cannot read"));
    if (!ReadDataLine()) return HeaderError("no header line");
    std::vector<std::string> names;
    if (absl::Status split = SplitCsvLine(pending_, names); !split.ok()) return HeaderError(split.message());
    column_count_ = names.size();
    std::vector<EventField> fields;
    std::vector<bool> typed;
    for (size_t i = 0; i < names.size(); ++i) {
      std::string name(absl::StripAsciiWhitespace(names[i]));
      std::string type;
      if (const size_t colon = name.find(':'); colon != std::string::npos) {
        type = name.substr(colon + 1);
        name.resize(colon);
      }
      int* standard = name == "vid" ? &vid_column_ : name == "event_group" ? &group_column_
                                   : name == "timestamp"                  ? &timestamp_column_
                                                                          : nullptr;
      if (standard != nullptr) {
        if (*standard >= 0) return HeaderError(absl::StrCat("column \"", name, "\" appears twice"));
        *standard = static_cast<int>(i);
        continue;
      }
      if (name.empty()) return HeaderError(absl::StrCat("column ", i + 1, " has no name"));
      for (const EventField& f : fields) {
        if (f.name == name) return HeaderError(absl::StrCat("column \"", name, "\" appears twice"));
      }
      std::optional<FieldType> declared = FieldTypeNamed(type);
      if (!type.empty() && !declared.has_value()) {
        return HeaderError(
            absl::StrCat("column \"", name, "\" has type \"", type, "\"; known types: int, double, string, bool"));
      }
      fields.push_back({name, declared.value_or(FieldType::kInt)});
      typed.push_back(!type.empty());
      field_columns_.push_back(static_cast<int>(i));
    }
    for (const auto& [column, name] : std::initializer_list<std::pair<int, const char*>>{
             {vid_column_, "vid"}, {group_column_, "event_group"}, {timestamp_column_, "timestamp"}}) {
      if (column < 0) return HeaderError(absl::StrCat("no \"", name, "\" column"));
    }
    // Untyped fields take their type from the first data row.
    has_pending_ = ReadDataLine();
    if (has_pending_) {
      std::vector<std::string> first;
      if (SplitCsvLine(pending_, first).ok() && first.size() == column_count_) {
        for (size_t f = 0; f < fields.size(); ++f) {
          int64_t ignored;
          double number;
          const std::string& value = first[field_columns_[f]];
          if (typed[f] || absl::SimpleAtoi(value, &ignored)) continue;
          fields[f].type = absl::SimpleAtod(value, &number) && std::isfinite(number) ? FieldType::kDouble
                                                                                       : FieldType::kString;
        }
      }
    }
    schema_ = EventSchema(std::move(fields));
    return absl::OkStatus();
  }

  absl::Status AppendRow(EventBatch& batch, StringColumnBuilder& groups,
                         std::vector<std::unique_ptr<StringColumnBuilder>>& strings) {
    RETURN_IF_ERROR(SplitCsvLine(pending_, values_));
    if (values_.size() != column_count_) {
      return absl::InvalidArgumentError(absl::StrCat(values_.size(), " values for ", column_count_, " columns"));
    }
    uint64_t vid = 0;
    if (!absl::SimpleAtoi(values_[vid_column_], &vid)) {
      return absl::InvalidArgumentError(absl::StrCat("vid \"", values_[vid_column_], "\" is not an unsigned integer"));
    }
    ASSIGN_OR_RETURN(int64_t timestamp, ParseTimestamp(values_[timestamp_column_]));
    const auto& fields = schema_.fields();
    for (size_t f = 0; f < fields.size(); ++f) {
      const std::string& value = values_[field_columns_[f]];
      switch (fields[f].type) {
        case FieldType::kString:
          strings[f]->Append(value);
          break;
        case FieldType::kInt: {
          int64_t number = 0;
          if (!absl::SimpleAtoi(value, &number)) {
            return absl::InvalidArgumentError(
                absl::StrCat(fields[f].name, " \"", value, "\" is not an integer (the column holds integers)"));
          }
          batch.columns[f].ints.push_back(number);
          break;
        }
        case FieldType::kDouble: {
          double number = 0;
          if (!absl::SimpleAtod(value, &number) || !std::isfinite(number)) {
            return absl::InvalidArgumentError(
                absl::StrCat(fields[f].name, " \"", value, "\" is not a finite number (the column holds doubles)"));
          }
          batch.columns[f].doubles.push_back(number);
          break;
        }
        case FieldType::kBool: {
          const absl::string_view v = absl::StripAsciiWhitespace(value);
          if (v != "true" && v != "false" && v != "1" && v != "0") {
            return absl::InvalidArgumentError(
                absl::StrCat(fields[f].name, " \"", value, "\" is not true, false, 1 or 0 (the column holds bools)"));
          }
          batch.columns[f].ints.push_back(v == "true" || v == "1" ? 1 : 0);
          break;
        }
      }
    }
    batch.vids.push_back(vid);
    groups.Append(values_[group_column_]);
    batch.timestamps_micros.push_back(timestamp);
    return absl::OkStatus();
  }

  std::string path_;
  std::ifstream in_;
  std::string pending_;
  bool has_pending_ = false;
  int64_t line_number_ = 0;
  size_t column_count_ = 0;
  int vid_column_ = -1, group_column_ = -1, timestamp_column_ = -1;
  std::vector<int> field_columns_;
  std::vector<std::string> values_;
};

void ToBatchColumn(const v1::StringColumn& in, StringColumn& out) {
  out.dictionary.assign(in.dictionary().begin(), in.dictionary().end());
  out.ids.assign(in.ids().begin(), in.ids().end());
}

absl::Status CheckStringColumn(const StringColumn& column, size_t rows, absl::string_view name) {
  if (column.ids.size() != rows) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has ", column.ids.size(), " rows, not ", rows));
  }
  for (uint32_t id : column.ids) {
    if (id >= column.dictionary.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " names dictionary entry ", id, " of ", column.dictionary.size()));
    }
  }
  return absl::OkStatus();
}

class ColumnarEventReader final : public EventReader {
 public:
  static absl::StatusOr<std::unique_ptr<EventReader>> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
    auto reader = std::unique_ptr<ColumnarEventReader>(new ColumnarEventReader(path, fd));
    RETURN_IF_ERROR(reader->ReadHeader());
    return std::unique_ptr<EventReader>(std::move(reader));
  }
  ~ColumnarEventReader() override { ::close(fd_); }

  absl::StatusOr<bool> Next(EventBatch& batch) override {
    batch.Clear(schema_.fields().size());
    if (done_) return false;
    v1::EventFileRecord record;
    RETURN_IF_ERROR(ReadRecord(record));
    if (record.has_trailer()) {
      if (record.trailer().row_count() != rows_) {
        return absl::DataLossError(absl::StrCat(path_, ": the trailer counts ", record.trailer().row_count(),
                                                " rows but the file holds ", rows_));
      }
      done_ = true;
      return false;
    }
    if (record.record_case() != v1::EventFileRecord::kRowGroup) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": row group ", groups_ + 1, " is not a row group"));
    }
    ++groups_;
    if (crypto::Sha256(record.row_group()) != record.row_group_sha256()) {
      return absl::DataLossError(absl::StrCat(path_, ": row group ", groups_, " does not match its SHA-256 (corrupt)"));
    }
    v1::EventRowGroup group;
    if (!group.ParseFromString(record.row_group())) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": row group ", groups_, " does not parse"));
    }
    absl::Status decoded = Decode(group, batch);
    if (!decoded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": row group ", groups_, ": ", decoded.message()));
    }
    rows_ += batch.size();
    return true;
  }

 private:
  ColumnarEventReader(std::string path, int fd) : path_(std::move(path)), fd_(fd), file_(fd) {}

  absl::Status ReadRecord(v1::EventFileRecord& record) {
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&record, &file_, &clean_eof)) {
      return absl::DataLossError(absl::StrCat(path_, clean_eof ? ": truncated: it ends before its trailer"
                                                               : ": a record does not parse (corrupt or truncated)"));
    }
    return absl::OkStatus();
  }

  absl::Status ReadHeader() {
    {
      google::protobuf::io::CodedInputStream coded(&file_);
      std::string magic;
      if (!coded.ReadString(&magic, kColumnarMagic.size()) || magic != kColumnarMagic) {
        return absl::InvalidArgumentError(absl::StrCat(path_, ": not a halo columnar event file"));
      }
    }
    v1::EventFileRecord record;
    RETURN_IF_ERROR(ReadRecord(record));
    if (!record.has_header()) return absl::InvalidArgumentError(absl::StrCat(path_, ": no header"));
    std::vector<EventField> fields;
    for (const auto& f : record.header().fields()) {
      std::optional<FieldType> type = FromFileType(f.type());
      if (!type.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(path_, ": field \"", f.name(), "\" has no known type"));
      }
      fields.push_back({f.name(), *type});
    }
    schema_ = EventSchema(std::move(fields));
    return absl::OkStatus();
  }

  absl::Status Decode(const v1::EventRowGroup& group, EventBatch& batch) const {
    const size_t rows = group.row_count();
    if (static_cast<size_t>(group.vids_size()) != rows || static_cast<size_t>(group.timestamp_deltas_size()) != rows) {
      return absl::InvalidArgumentError(absl::StrCat("vid or timestamp column is not ", rows, " rows"));
    }
    if (static_cast<size_t>(group.columns_size()) != schema_.fields().size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(group.columns_size(), " columns for ", schema_.fields().size(), " fields"));
    }
    batch.vids.assign(group.vids().begin(), group.vids().end());
    ToBatchColumn(group.event_groups(), batch.event_groups);
    RETURN_IF_ERROR(CheckStringColumn(batch.event_groups, rows, "event_group"));
    int64_t timestamp = 0;
    batch.timestamps_micros.reserve(rows);
    for (int64_t delta : group.timestamp_deltas()) batch.timestamps_micros.push_back(timestamp += delta);
    for (size_t f = 0; f < schema_.fields().size(); ++f) {
      const auto& in = group.columns(static_cast<int>(f));
      EventColumn& out = batch.columns[f];
      const std::string& name = schema_.fields()[f].name;
      switch (schema_.fields()[f].type) {
        case FieldType::kInt:
        case FieldType::kBool:
          if (static_cast<size_t>(in.ints_size()) != rows) {
            return absl::InvalidArgumentError(absl::StrCat(name, " has ", in.ints_size(), " rows, not ", rows));
          }
          out.ints.assign(in.ints().begin(), in.ints().end());
          if (schema_.fields()[f].type == FieldType::kBool) {
            for (int64_t& v : out.ints) {
              if (v != 0 && v != 1) return absl::InvalidArgumentError(absl::StrCat(name, " holds ", v, ", not a bool"));
            }
          }
          break;
        case FieldType::kDouble:
          if (static_cast<size_t>(in.doubles_size()) != rows) {
            return absl::InvalidArgumentError(absl::StrCat(name, " has ", in.doubles_size(), " rows, not ", rows));
          }
          out.doubles.assign(in.doubles().begin(), in.doubles().end());
          for (double v : out.doubles) {
            if (!std::isfinite(v)) return absl::InvalidArgumentError(absl::StrCat(name, " holds a value that is not finite"));
          }
          break;
        case FieldType::kString:
          ToBatchColumn(in.strings(), out.strings);
          RETURN_IF_ERROR(CheckStringColumn(out.strings, rows, name));
          break;
      }
    }
    return absl::OkStatus();
  }

  std::string path_;
  int fd_;
  google::protobuf::io::FileInputStream file_;
  bool done_ = false;
  uint64_t rows_ = 0;
  int groups_ = 0;
};

absl::Status CheckBatch(const EventBatch& batch, const EventSchema& schema) {
  const size_t rows = batch.size();
  if (batch.timestamps_micros.size() != rows || batch.event_groups.ids.size() != rows ||
      batch.columns.size() != schema.fields().size()) {
    return absl::InvalidArgumentError("the batch's columns do not match each other or the schema");
  }
  for (size_t f = 0; f < schema.fields().size(); ++f) {
    const EventColumn& column = batch.columns[f];
    const FieldType type = schema.fields()[f].type;
    const size_t have = type == FieldType::kString   ? column.strings.ids.size()
                        : type == FieldType::kDouble ? column.doubles.size()
                                                     : column.ints.size();
    if (have != rows) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", schema.fields()[f].name, " has ", have, " rows, not ", rows));
    }
  }
  return absl::OkStatus();
}

// Opens `path`.tmp for writing; Commit() syncs it and renames it into place.
class AtomicFile {
 public:
  static absl::StatusOr<AtomicFile> Create(const std::string& path) {
    const std::string temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", temp));
    return AtomicFile(path, fd);
  }
  AtomicFile(AtomicFile&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  ~AtomicFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink((path_ + ".tmp").c_str());
    }
  }
  int fd() const { return fd_; }
  absl::Status Commit() {
    const bool synced = ::fsync(fd_) == 0;
    ::close(std::exchange(fd_, -1));
    if (!synced || std::rename((path_ + ".tmp").c_str(), path_.c_str()) != 0) {
      return absl::DataLossError(absl::StrCat("cannot write ", path_));
    }
    return absl::OkStatus();
  }
  const std::string& path() const { return path_; }

 private:
  AtomicFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

class ColumnarEventWriter final : public EventWriter {
 public:
  static absl::StatusOr<std::unique_ptr<EventWriter>> Create(const std::string& path, const EventSchema& schema) {
    ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
    auto writer = std::unique_ptr<ColumnarEventWriter>(new ColumnarEventWriter(std::move(file), schema));
    {
      google::protobuf::io::CodedOutputStream coded(&writer->stream_);
      coded.WriteRaw(kColumnarMagic.data(), static_cast<int>(kColumnarMagic.size()));
    }
    v1::EventFileRecord record;
    for (const EventField& f : schema.fields()) {
      auto& out = *record.mutable_header()->add_fields();
      out.set_name(f.name);
      out.set_type(ToFileType(f.type));
    }
    RETURN_IF_ERROR(writer->WriteRecord(record));
    return std::unique_ptr<EventWriter>(std::move(writer));
  }

  absl::Status Write(const EventBatch& batch) override {
    RETURN_IF_ERROR(CheckBatch(batch, schema_));
    for (size_t start = 0; start < batch.size(); start += kEventBatchRows) {
      const size_t end = std::min(batch.size(), start + kEventBatchRows);
      v1::EventRowGroup group;
      group.set_row_count(static_cast<uint32_t>(end - start));
      group.mutable_vids()->Add(batch.vids.begin() + start, batch.vids.begin() + end);
      group.mutable_event_groups()->mutable_dictionary()->Add(batch.event_groups.dictionary.begin(),
                                                                 batch.event_groups.dictionary.end());
      group.mutable_event_groups()->mutable_ids()->Add(batch.event_groups.ids.begin() + start,
                                                          batch.event_groups.ids.begin() + end);
      int64_t previous = 0;
      for (size_t i = start; i < end; ++i) {
        group.add_timestamp_deltas(batch.timestamps_micros[i] - previous);
        previous = batch.timestamps_micros[i];
      }
      for (size_t f = 0; f < schema_.fields().size(); ++f) {
        auto& column = *group.add_columns();
        const EventColumn& in = batch.columns[f];
        const FieldType type = schema_.fields()[f].type;
        if (type == FieldType::kInt || type == FieldType::kBool) {
          column.mutable_ints()->Add(in.ints.begin() + start, in.ints.begin() + end);
        } else if (type == FieldType::kDouble) {
          column.mutable_doubles()->Add(in.doubles.begin() + start, in.doubles.begin() + end);
        } else {
          column.mutable_strings()->mutable_dictionary()->Add(in.strings.dictionary.begin(),
                                                                 in.strings.dictionary.end());
          column.mutable_strings()->mutable_ids()->Add(in.strings.ids.begin() + start,
                                                          in.strings.ids.begin() + end);
        }
      }
      v1::EventFileRecord record;
      record.set_row_group(group.SerializeAsString());
      record.set_row_group_sha256(crypto::Sha256(record.row_group()));
      RETURN_IF_ERROR(WriteRecord(record));
      rows_ += end - start;
    }
    return absl::OkStatus();
  }

  absl::Status Close() override {
    v1::EventFileRecord record;
    record.mutable_trailer()->set_row_count(rows_);
    RETURN_IF_ERROR(WriteRecord(record));
    if (!stream_.Flush()) return absl::DataLossError(absl::StrCat("cannot write ", file_.path()));
    return file_.Commit();
  }

 private:
  ColumnarEventWriter(AtomicFile file, EventSchema schema)
      : file_(std::move(file)), stream_(file_.fd()), schema_(std::move(schema)) {}

  absl::Status WriteRecord(const v1::EventFileRecord& record) {
    if (!google::protobuf::util::SerializeDelimitedToZeroCopyStream(record, &stream_)) {
      return absl::DataLossError(absl::StrCat("cannot write ", file_.path()));
    }
    return absl::OkStatus();
  }

  AtomicFile file_;
  google::protobuf::io::FileOutputStream stream_;
  EventSchema schema_;
  uint64_t rows_ = 0;
};

std::string CsvValue(absl::string_view value) {
  if (value.find_first_of(",\"\n\r") == absl::string_view::npos) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

class CsvEventWriter final : public EventWriter {
 public:
  static absl::StatusOr<std::unique_ptr<EventWriter>> Create(const std::string& path, const EventSchema& schema) {
    ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path));
    auto writer = std::unique_ptr<CsvEventWriter>(new CsvEventWriter(std::move(file), schema));
    std::string header = "vid,event_group,timestamp";
    for (const EventField& f : schema.fields()) {
      absl::StrAppend(&header, ",", CsvValue(absl::StrCat(f.name, ":", FieldTypeName(f.type))));
    }
    header.push_back('\n');
    RETURN_IF_ERROR(writer->Append(header));
    return std::unique_ptr<EventWriter>(std::move(writer));
  }

  absl::Status Write(const EventBatch& batch) override {
    RETURN_IF_ERROR(CheckBatch(batch, schema_));
    std::string text;
    for (size_t i = 0; i < batch.size(); ++i) {
      absl::StrAppend(&text, batch.vids[i], ",", CsvValue(batch.event_groups.At(i)), ",", batch.timestamps_micros[i]);
      for (size_t f = 0; f < schema_.fields().size(); ++f) {
        switch (schema_.fields()[f].type) {
          case FieldType::kInt:
            absl::StrAppend(&text, ",", batch.columns[f].ints[i]);
            break;
          case FieldType::kBool:
            absl::StrAppend(&text, ",", batch.columns[f].ints[i] != 0 ? "true" : "false");
            break;
          case FieldType::kDouble:
            // Enough digits that the reader gets the same double back.
            absl::StrAppend(&text, ",", absl::StrFormat("%.17g", batch.columns[f].doubles[i]));
            break;
          case FieldType::kString:
            absl::StrAppend(&text, ",", CsvValue(batch.columns[f].strings.At(i)));
            break;
        }
      }
      text.push_back('\n');
      if (text.size() > (1 << 20)) {
        RETURN_IF_ERROR(Append(text));
        text.clear();
      }
    }
    return Append(text);
  }

  absl::Status Close() override { return file_.Commit(); }

 private:
  CsvEventWriter(AtomicFile file, EventSchema schema) : file_(std::move(file)), schema_(std::move(schema)) {}

  absl::Status Append(absl::string_view text) {
    while (!text.empty()) {
      const ssize_t written = ::write(file_.fd(), text.data(), text.size());
      if (written <= 0) return absl::DataLossError(absl::StrCat("cannot write ", file_.path()));
      text.remove_prefix(static_cast<size_t>(written));
    }
    return absl::OkStatus();
  }

  AtomicFile file_;
  EventSchema schema_;
};

}  // namespace

int EventSchema::IndexOf(absl::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void EventBatch::Clear(size_t column_count) {
  vids.clear();
  event_groups.dictionary.clear();
  event_groups.ids.clear();
  timestamps_micros.clear();
  columns.assign(column_count, EventColumn{});
}

absl::StatusOr<std::unique_ptr<EventReader>> OpenEventFile(const std::string& path) {
  if (absl::EndsWith(path, ".csv")) return CsvEventReader::Open(path);
  if (absl::EndsWith(path, ".hev")) return ColumnarEventReader::Open(path);
  return absl::InvalidArgumentError(absl::StrCat(path, ": an event file must end in .csv or .hev"));
}

absl::StatusOr<std::vector<std::string>> ListEventFiles(const std::string& dir) {
  std::error_code error;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string path = entry.path().string();
    if (entry.is_regular_file() && (absl::EndsWith(path, ".csv") || absl::EndsWith(path, ".hev"))) {
      files.push_back(path);
    }
  }
  if (error) return absl::NotFoundError(absl::StrCat("cannot list event files in ", dir, ": ", error.message()));
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<std::unique_ptr<EventWriter>> CreateEventFile(const std::string& path, const EventSchema& schema) {
  if (absl::EndsWith(path, ".csv")) return CsvEventWriter::Create(path, schema);
  if (absl::EndsWith(path, ".hev")) return ColumnarEventWriter::Create(path, schema);
  return absl::InvalidArgumentError(absl::StrCat(path, ": an event file must end in .csv or .hev"));
}

}  // namespace halo::edp
