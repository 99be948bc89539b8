-- wrk script for t/faults/run: every connection cycles through the
-- representations of the sample data, so that every query of the web API
-- and every renderer is under load.
local paths = {
    "/r/", "/r/index.json", "/r/demo-district/", "/r/demo-district/index.json",
    "/r/xigong-edz/2024", "/r/demo-district/2024.json", "/r/demo-district/2023.csv",
    "/r/demo-district/2022/applications", "/r/demo-district-housing/2021.html",
    "/r/demo-district-education/2020/appeals",
}

local n = 0

request = function()
    n = n + 1
    return wrk.format("GET", paths[(n % #paths) + 1])
end
