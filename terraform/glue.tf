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
    EXTERNAL                    = "TRUE"
    classification              = "json"
    "projection.enabled"        = "true"
    "projection.entity.type"    = "enum"
    "projection.entity.values"  = each.value.entity
    "projection.dt.type"        = "date"
    "projection.dt.format"      = "yyyy-MM-dd"
    "projection.dt.range"       = "${var.partition_projection_start_date},NOW"
    "projection.dt.interval"    = "1"
    "projection.dt.unit"        = "DAYS"
    "storage.location.template" = "s3://${aws_s3_bucket.data.id}/${local.data_prefix}/entity=$${entity}/dt=$${dt}/"
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
      parameters = {
        "ignore.malformed.json" = "false"
        "dots.in.keys"          = "false"
        "case.insensitive"      = "true"
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
