// Package open311sim simulates a city's Open311 GeoReport v2 server: the
// service catalogue and definitions, POST of service requests checked
// against the city's assets, GET of requests in JSON and XML, duplicate
// handling as the configured server does it, and crews that work and close
// requests as time moves on.
package open311sim
