"""How both back offices show dates and times: to the second, year first (four transactions in one
minute read apart, and a time sorts as it reads). Django's own English formats stop at the minute."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
