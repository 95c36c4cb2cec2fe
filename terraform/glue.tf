resource "aws_glue_catalog_database" "wootric" {
  name        = local.glue_database_name
  description = "Wootric data landed by the ${local.stream_name} Firehose stream (one table per entity)"
}

# One table per entity over the landed JSON lines. Partition projection computes the partitions from the key layout,
# so no crawler and no MSCK REPAIR are needed. Columns come from glue-columns.json, generated from the zod schemas.
resource "aws_glue_catalog_table" "entity" {
  for_each = local.glue_tables

  name          = each.key
  database_name = aws_glue_catalog_database.wootric.name
  description   = "Wootric ${each.value.entity} records (envelope + data), deduplicate on dedup_key"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL                      = "TRUE"
    classification                = "json"
    "projection.enabled"          = "true"
    "projection.entity.type"      = "enum"
    "projection.entity.values"    = each.value.entity
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "${var.partition_projection_start_date},NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "storage.location.template"   = "s3://${aws_s3_bucket.data.id}/${local.data_prefix}/entity=$${entity}/dt=$${dt}/"
  }

  partition_keys {
    name    = "entity"
    type    = "string"
    comment = "entity partition (one value per table)"
  }

  partition_keys {
    name    = "dt"
    type    = "string"
    comment = "UTC date the record was received, YYYY-MM-DD"
  }

  storage_descriptor {
    location      = "s3://${aws_s3_bucket.data.id}/${local.data_prefix}/entity=${each.value.entity}/"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "openx-json"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      # case.insensitive = false: keys are matched as written, so custom properties that differ only in case
      # (Plan / plan) stay two map keys instead of colliding in one row. Every struct field the tables declare is
      # lower case (test/unit/glue-columns.test.ts checks it), so nothing is lost. ignore.malformed.json = false: a
      # line that is not JSON fails the query loudly rather than turning into a row of NULLs that skews counts; the
      # service writes every line with JSON.stringify, so such a line means corruption worth seeing.
      parameters = {
        "ignore.malformed.json" = "false"
        "dots.in.keys"          = "false"
        "case.insensitive"      = "false"
      }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

# Current-state views (<table>_current): the latest version of each record, tombstones removed. Athena reads a view
# from a Glue table of type VIRTUAL_VIEW whose view_original_text is "/* Presto View: <base64 JSON> */", the JSON
# holding the SQL, the catalog and schema it resolves names in, and the output columns with Trino types. The SQL
# and columns are generated from the record schemas (npm run gen:glue) and proven by test/integration/athena-sql.test.ts.
resource "aws_glue_catalog_table" "current" {
  for_each = local.athena_views

  name          = each.value.view
  database_name = aws_glue_catalog_database.wootric.name
  description   = "Current state of ${each.key}: latest version of each record, deleted records removed"
  table_type    = "VIRTUAL_VIEW"

  view_original_text = "/* Presto View: ${base64encode(jsonencode({
    originalSql = trimspace(file("${path.module}/sql/views/${each.value.view}.sql"))
    catalog     = "awsdatacatalog"
    schema      = aws_glue_catalog_database.wootric.name
    columns     = [for c in each.value.columns : { name = c.name, type = c.presto_type }]
  }))} */"
  view_expanded_text = "/* Presto View */"

  parameters = {
    presto_view = "true"
    comment     = "Presto View"
  }

  storage_descriptor {
    dynamic "columns" {
      for_each = each.value.columns
      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }

  # The view reads its table by name.
  depends_on = [aws_glue_catalog_table.entity]
}
