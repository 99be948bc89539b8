-- The real report this project started from: 洛阳西工经济技术开发区管理委员会,
-- 2024 年政府信息公开工作年度报告, as published on the web (narrative verbatim,
-- every number 0).  Rendered from data, it no longer carries the hand-typed
-- report's typo (本年度止件数) or its misplaced "3. 其他" row.
-- The date of its first publication is not in the copy we have: it is
-- published here at load time.
INSERT INTO disclosure.agency (slug, name, kind, note)
VALUES ('xigong-edz', '洛阳西工经济技术开发区管理委员会', 'department',
        '真实报告（2024 年度）；其他年度与上级机关未录入');

SELECT disclosure.new_report('xigong-edz', 2024);

UPDATE disclosure.sections_grid SET body = '2024 年，西工经济技术开发区认真贯彻落实《中华人民共和国政府信息公开条例》，扎实有序推进政府信息公开工作，积极回应企业群众关切，切实发挥以公开促落实、强监管功能，高质量推动经济发展提质增效。现将西工经济技术开发区 2024 年度政府信息公开工作报告如下：'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'overview' AND part = 'intro';
UPDATE disclosure.sections_grid SET body = '（一）主动公开情况。按照上级信息公开工作要求，2024 年西工经济技术开发区需公开的行政规范性文件、行政许可、行政处罚、行政强制、行政事业性收费等信息数量均为 0。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'overview' AND part = 'proactive';
UPDATE disclosure.sections_grid SET body = '（二）依申请公开。2024 年，西工经济技术开发区未收到新增政府信息公开申请，上年结转政府信息公开申请为 0，行政查询事项、本机关不掌握相关政府信息、信访举报投诉类申请数量均为 0。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'overview' AND part = 'on_request';
UPDATE disclosure.sections_grid SET body = '（三）政府信息管理。2024 年，西工经济技术开发区建立网络安全管理制度，进一步规范信息发布程序，严格审核流程及标准，不断提升经开区政务公开制度化、标准化、信息化水平。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'overview' AND part = 'management';
UPDATE disclosure.sections_grid SET body = '（四）政府信息公开平台建设。西工经济技术开发区依托洛阳市政府网站、西工区人民政府网站、“智慧西工”西工区公共服务平台对外公开政府信息，未自建微博、微信公众号等政务媒体。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'overview' AND part = 'platform';
UPDATE disclosure.sections_grid SET body = '（五）监督保障。西工经济技术开发区坚持以高标准、严要求从实从细抓好政府信息公开工作，建立信息公开监督保障机制，定期自查信息公开情况，广泛接受社会监督，全力提升政务服务质量效能。2024 年，经开区社会评议良好，未发生政务公开责任追究事件。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'overview' AND part = 'oversight';
UPDATE disclosure.sections_grid SET body = '当前经开区政府信息公开工作已取得一定成效，但也存在一些问题。2025年，经开区将持续落实省市区对政府信息公开工作的安排部署，充分挖掘、梳理相关资源，全面公开行政规范性文件、行政许可、行政事业性收费等信息，提升公众信息获取的准确度和便捷性，为经开区高质量发展增势赋能。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'problems' AND part = 'body';
UPDATE disclosure.sections_grid SET body = '无其他需要报告的事项。'
 WHERE agency = 'xigong-edz' AND year = 2024 AND section = 'other' AND part = 'body';

SELECT disclosure.publish('xigong-edz', 2024);
