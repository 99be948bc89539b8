-- Open data in bulk (issue 14): the catalog's fixed part.  The functions and
-- the view that make the /data/ files are in sql/functions/85_open_data.sql.

-- the catalog's fixed part: who publishes, under which licence, from where;
-- operators UPDATE it (one row)
CREATE TABLE disclosure.data_catalog_meta (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    title        text NOT NULL,
    description  text NOT NULL,
    publisher    text NOT NULL,
    license      text NOT NULL,
    source       text NOT NULL
);
COMMENT ON TABLE disclosure.data_catalog_meta IS
    'the open-data catalog''s title, publisher, licence and source (/data/index.json); one row';
INSERT INTO disclosure.data_catalog_meta VALUES (true,
    '政府信息公开工作年度报告数据',
    '各机关政府信息公开工作年度报告的统计表，每年一个文件；每份报告取最新发布的修订版。',
    '政府信息公开工作年度报告数据库',
    'https://creativecommons.org/publicdomain/zero/1.0/',
    '各机关发布的政府信息公开工作年度报告（每份报告的 source_url）');

GRANT SELECT ON disclosure.data_catalog_meta TO disclosure_editor;
GRANT UPDATE ON disclosure.data_catalog_meta TO disclosure_publisher;
