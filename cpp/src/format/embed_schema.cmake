# Writes the .lwai schema text into a C++ source so the JSON reader/writer needs no file.
file(READ ${SCHEMA} content)
file(WRITE ${OUTPUT} "// Generated from lwai.fbs. Do not edit.\nnamespace lwai {\nextern const char kLwaiSchemaText[] = R\"lwaifbs(${content})lwaifbs\";\n}  // namespace lwai\n")
