-- MADE UP, like demo-district.sql (whose pg_temp.invent() it uses, so it is
-- loaded after it): two more departments of 示例区, for the roll-up and the
-- year page.  示例区财政局 published 2021–2023 on time and nothing for 2024
-- (missing); 示例区卫生健康委员会 published every year, 2024 late (after the
-- departments' deadline of 31 January, rule R13).

INSERT INTO disclosure.agency (slug, name, kind, parent_id, note)
SELECT d.slug, d.name, 'department', p.id, '虚构的示例数据（made up for the demo and the tests）'
  FROM disclosure.agency p,
       (VALUES ('demo-district-finance', '示例区财政局'),
               ('demo-district-health', '示例区卫生健康委员会')) d(slug, name)
 WHERE p.slug = 'demo-district';

DO $$
DECLARE
    y int;
BEGIN
    FOR y IN 2021 .. 2024 LOOP
        IF y < 2024 THEN
            PERFORM disclosure.new_report('demo-district-finance', y);
            PERFORM pg_temp.invent('demo-district-finance', y, 5);
            PERFORM disclosure.publish('demo-district-finance', y,
                                       make_timestamptz(y + 1, 1, 15, 9, 30, 0, 'Asia/Shanghai'));
        END IF;
        PERFORM disclosure.new_report('demo-district-health', y);
        PERFORM pg_temp.invent('demo-district-health', y, 6);
        PERFORM disclosure.publish('demo-district-health', y,
                                   CASE WHEN y = 2024 THEN make_timestamptz(2025, 3, 12, 16, 0, 0, 'Asia/Shanghai')
                                        ELSE make_timestamptz(y + 1, 1, 26, 16, 0, 0, 'Asia/Shanghai') END);
    END LOOP;
END
$$;
