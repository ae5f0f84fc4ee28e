"""Sample client locations for catchment shares and `gtm simulate`: 40 large metropolitan
areas on every inhabited continent, weighted equally (a model, not traffic data)."""

from __future__ import annotations

from gtm.anycast.catchment import Place
from gtm.model.geo import Location

_CITIES = (
    # name, country, continent, latitude, longitude
    ("New York", "US", "NA", 40.71, -74.01),
    ("Los Angeles", "US", "NA", 34.05, -118.24),
    ("Chicago", "US", "NA", 41.88, -87.63),
    ("Dallas", "US", "NA", 32.78, -96.80),
    ("Ashburn", "US", "NA", 39.04, -77.49),
    ("Seattle", "US", "NA", 47.61, -122.33),
    ("Toronto", "CA", "NA", 43.65, -79.38),
    ("Mexico City", "MX", "NA", 19.43, -99.13),
    ("Sao Paulo", "BR", "SA", -23.55, -46.63),
    ("Buenos Aires", "AR", "SA", -34.60, -58.38),
    ("Bogota", "CO", "SA", 4.71, -74.07),
    ("Santiago", "CL", "SA", -33.45, -70.67),
    ("London", "GB", "EU", 51.51, -0.13),
    ("Dublin", "IE", "EU", 53.35, -6.26),
    ("Paris", "FR", "EU", 48.86, 2.35),
    ("Frankfurt", "DE", "EU", 50.11, 8.68),
    ("Amsterdam", "NL", "EU", 52.37, 4.90),
    ("Madrid", "ES", "EU", 40.42, -3.70),
    ("Milan", "IT", "EU", 45.46, 9.19),
    ("Stockholm", "SE", "EU", 59.33, 18.07),
    ("Warsaw", "PL", "EU", 52.23, 21.01),
    ("Moscow", "RU", "EU", 55.76, 37.62),
    ("Istanbul", "TR", "AS", 41.01, 28.98),
    ("Cairo", "EG", "AF", 30.04, 31.24),
    ("Lagos", "NG", "AF", 6.52, 3.38),
    ("Nairobi", "KE", "AF", -1.29, 36.82),
    ("Johannesburg", "ZA", "AF", -26.20, 28.05),
    ("Dubai", "AE", "AS", 25.20, 55.27),
    ("Mumbai", "IN", "AS", 19.08, 72.88),
    ("Delhi", "IN", "AS", 28.61, 77.21),
    ("Singapore", "SG", "AS", 1.35, 103.82),
    ("Jakarta", "ID", "AS", -6.21, 106.85),
    ("Hong Kong", "HK", "AS", 22.32, 114.17),
    ("Shanghai", "CN", "AS", 31.23, 121.47),
    ("Seoul", "KR", "AS", 37.57, 126.98),
    ("Tokyo", "JP", "AS", 35.68, 139.69),
    ("Manila", "PH", "AS", 14.60, 120.98),
    ("Sydney", "AU", "OC", -33.87, 151.21),
    ("Melbourne", "AU", "OC", -37.81, 144.96),
    ("Auckland", "NZ", "OC", -36.85, 174.76),
)

PLACES: tuple[Place, ...] = tuple(
    Place(name, country, continent, Location(lat, lon))
    for name, country, continent, lat, lon in _CITIES
)
