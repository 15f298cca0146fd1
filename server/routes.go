package server

import (
	"github.com/labstack/echo/v4"

	"github.com/trainyard/trainyard/web"
)

// routes is the one route table of trainyard, grouped by page.
func routes(e *echo.Echo, h *handler) {
	e.StaticFS("/static", web.StaticRoot())

	// Pages.
	e.GET("/", h.home)
	e.GET("/experiments/new", h.experimentNew)
	e.POST("/experiments", h.experimentCreate)
	e.GET("/experiments/:id", h.experimentShow)
	e.GET("/runs/:id", h.runShow)
	e.POST("/runs/:id/cancel", h.runCancel, h.ownRun)
	e.GET("/compare", h.compareShow)
	e.GET("/datasets", h.datasetsPage)
	e.POST("/datasets", h.datasetCreate, uploadLimit("/datasets"))
	e.GET("/suites", h.suitesPage)
	e.POST("/suites/seed-report", h.seedReportCreate)
	e.GET("/suites/:id", h.suiteShow)
	e.POST("/suites/:id/members/:key/requeue", h.suiteRequeue)
	e.GET("/workers", h.workersPage)

	// Accounts (auth.go, account.go): who may do what is checked for every
	// route by authenticate; ownRun and ownExperiment limit members to what
	// they created.
	e.GET("/login", h.loginPage)
	e.POST("/login", h.login, loginLimit())
	e.POST("/logout", h.logout)
	e.GET("/account", h.accountPage)
	e.POST("/account/tokens", h.tokenCreate)
	e.POST("/account/tokens/:id/revoke", h.tokenRevoke)

	// JSON API.
	api := e.Group("/api")
	api.GET("/presets", h.apiPresets)
	api.POST("/summary", h.apiSummary, jsonBody)
	api.GET("/experiments", h.apiExperiments)
	api.POST("/experiments", h.apiExperimentCreate, jsonBody)
	api.POST("/experiments/preview", h.apiExperimentPreview, jsonBody)
	api.GET("/experiments/:id", h.apiExperiment)
	api.GET("/runs", h.apiRuns)
	api.GET("/runs.csv", h.apiRunsCSV)
	api.PATCH("/runs/:id", h.apiRunPatch, h.ownRun, jsonBody)
	api.DELETE("/runs/:id", h.apiRunDelete, h.ownRun)
	api.GET("/runs/:id/epochs.csv", h.apiRunEpochsCSV)
	api.PATCH("/experiments/:id", h.apiExperimentPatch, h.ownExperiment, jsonBody)
	api.DELETE("/experiments/:id", h.apiExperimentDelete, h.ownExperiment)
	api.GET("/runs/:id", h.apiRun)
	api.POST("/runs/:id/cancel", h.apiRunCancel, h.ownRun)
	api.GET("/runs/:id/weights", h.apiRunWeights)
	api.POST("/runs/:id/predict", h.apiRunPredict, uploadLimit("/api/runs/:id/predict"), bodyOf("multipart/form-data"))
	api.POST("/runs/:id/evaluate", h.apiRunEvaluate, uploadLimit("/api/runs/:id/evaluate"), jsonBody)
	api.GET("/runs/:id/events", h.apiRunEvents)
	api.GET("/compare", h.apiCompare)
	api.GET("/datasets", h.apiDatasets)
	api.GET("/preview", h.apiPreview)
	api.GET("/workers", h.apiWorkers)
	api.GET("/suites", h.apiSuites)
	api.POST("/suites/seed-report", h.apiSeedReport, jsonBody)
	api.GET("/suites/:id", h.apiSuite)
	api.POST("/suites/:id/members/:key/requeue", h.apiSuiteRequeue)
	api.POST("/datasets", h.apiDatasetCreate, uploadLimit("/api/datasets"), bodyOf("application/json", "multipart/form-data"))
	api.DELETE("/datasets/:id", h.apiDatasetDelete, h.adminOnly)

	e.RouteNotFound("/*", func(c echo.Context) error { return echo.ErrNotFound })
}
