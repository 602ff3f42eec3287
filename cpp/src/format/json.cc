// JSON models: the same schema, parsed and printed by the flatbuffers IDL parser, with
// constant data inline.
#include <flatbuffers/idl.h>

#include "format/model_format.h"

namespace lwai {

extern const char kLwaiSchemaText[];

namespace {

Status MakeParser(flatbuffers::Parser* parser) {
  parser->opts.strict_json = true;
  parser->opts.output_default_scalars_in_json = false;
  parser->opts.indent_step = 1;
  if (!parser->Parse(kLwaiSchemaText))
    return Internal(LWAI_MSG("schema does not parse: " + parser->error_));
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<Model>> Model::LoadJson(const std::string& json, const std::string& origin) {
  flatbuffers::Parser parser;
  LWAI_RETURN_IF_ERROR(MakeParser(&parser));
  if (!parser.ParseJson(json.c_str())) {
    return InvalidModel(LWAI_MSG(origin + ": not a valid lwai JSON model: " + parser.error_));
  }
  auto result = LoadBuffer(parser.builder_.GetBufferPointer(), parser.builder_.GetSize(), true);
  if (!result.ok()) return result.status().WithContext(LWAI_MSG(origin));
  return result;
}

Result<std::string> Model::ToJson() const {
  LWAI_ASSIGN_OR_RETURN(std::vector<uint8_t> image, SerializeModel(*this, true));
  flatbuffers::Parser parser;
  LWAI_RETURN_IF_ERROR(MakeParser(&parser));
  std::string text;
  if (!flatbuffers::GenerateText(parser, image.data(), &text)) {
    return Internal(LWAI_MSG("cannot print the model as JSON"));
  }
  return text;
}

}  // namespace lwai
