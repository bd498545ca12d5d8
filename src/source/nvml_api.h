/*
 * The few parts of the NVIDIA Management Library's C API that the nvml source uses, declared here
 * from NVML's public reference (docs.nvidia.com/deploy/nvml-api) so that jouleprint builds without
 * CUDA or NVIDIA headers. NVML itself is loaded at run time (dlopen), so these prototypes describe the
 * functions looked up with dlsym; the fake NVML the tests build (tests/fake_nvml.c) defines them, which
 * makes the compiler check that both sides agree.
 *
 * Values are NVML's documented ones; nothing here may be renumbered.
 */
#ifndef JP_NVML_API_H
#define JP_NVML_API_H

typedef struct nvmlDevice_st *nvmlDevice_t;

/* nvmlReturn_t: only the codes jouleprint names; every other value is passed to nvmlErrorString. */
typedef enum nvmlReturn_enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_NO_PERMISSION = 4,
    NVML_ERROR_ALREADY_INITIALIZED = 5,
    NVML_ERROR_NOT_FOUND = 6,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
    NVML_ERROR_INSUFFICIENT_POWER = 8,
    NVML_ERROR_DRIVER_NOT_LOADED = 9,
    NVML_ERROR_TIMEOUT = 10,
    NVML_ERROR_IRQ_ISSUE = 11,
    NVML_ERROR_LIBRARY_NOT_FOUND = 12,
    NVML_ERROR_FUNCTION_NOT_FOUND = 13,
    NVML_ERROR_CORRUPTED_INFOROM = 14,
    NVML_ERROR_GPU_IS_LOST = 15,
    NVML_ERROR_RESET_REQUIRED = 16,
    NVML_ERROR_OPERATING_SYSTEM = 17,
    NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
    NVML_ERROR_IN_USE = 19,
    NVML_ERROR_MEMORY = 20,
    NVML_ERROR_NO_DATA = 21,
    NVML_ERROR_UNKNOWN = 999
} nvmlReturn_t;

/* nvmlDeviceGetUtilizationRates: percent of the last sample period (1/6 s to 1 s by product) during
 * which a kernel ran (gpu) and device memory was read or written (memory). */
typedef struct nvmlUtilization_st {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

/* nvmlDeviceGetMemoryInfo: bytes. */
typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

/* nvmlDeviceGetSamples */
typedef enum nvmlSamplingType_enum {
    NVML_TOTAL_POWER_SAMPLES = 0, /* total board power, mW */
    NVML_GPU_UTILIZATION_SAMPLES = 1
} nvmlSamplingType_t;

typedef enum nvmlValueType_enum {
    NVML_VALUE_TYPE_DOUBLE = 0,
    NVML_VALUE_TYPE_UNSIGNED_INT = 1,
    NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
    NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4
} nvmlValueType_t;

typedef union nvmlValue_st {
    double dVal;
    unsigned int uiVal;
    unsigned long ulVal;
    unsigned long long ullVal;
    signed long long sllVal;
} nvmlValue_t;

typedef struct nvmlSample_st {
    unsigned long long timeStamp; /* CPU timestamp, microseconds */
    nvmlValue_t sampleValue;
} nvmlSample_t;

#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_MIG_ENABLE 1

/* The functions used, with NVML's signatures, as function types: the nvml source holds pointers to
 * them (from dlsym) and the fake NVML defines them. The _v2 names are the ones current drivers export. */
typedef nvmlReturn_t jp_nvmlInit_v2_fn(void);
typedef nvmlReturn_t jp_nvmlShutdown_fn(void);
typedef const char *jp_nvmlErrorString_fn(nvmlReturn_t result);
typedef nvmlReturn_t jp_nvmlSystemGetDriverVersion_fn(char *version, unsigned int length);
typedef nvmlReturn_t jp_nvmlDeviceGetCount_v2_fn(unsigned int *deviceCount);
typedef nvmlReturn_t jp_nvmlDeviceGetHandleByIndex_v2_fn(unsigned int index, nvmlDevice_t *device);
typedef nvmlReturn_t jp_nvmlDeviceGetName_fn(nvmlDevice_t device, char *name, unsigned int length);
/* millijoules since the driver was last reloaded; Volta and later */
typedef nvmlReturn_t jp_nvmlDeviceGetTotalEnergyConsumption_fn(nvmlDevice_t device, unsigned long long *energy);
/* milliwatts, the whole board */
typedef nvmlReturn_t jp_nvmlDeviceGetPowerUsage_fn(nvmlDevice_t device, unsigned int *power);
/* milliwatts */
typedef nvmlReturn_t jp_nvmlDeviceGetEnforcedPowerLimit_fn(nvmlDevice_t device, unsigned int *limit);
typedef nvmlReturn_t jp_nvmlDeviceGetUtilizationRates_fn(nvmlDevice_t device, nvmlUtilization_t *utilization);
typedef nvmlReturn_t jp_nvmlDeviceGetMemoryInfo_fn(nvmlDevice_t device, nvmlMemory_t *memory);
typedef nvmlReturn_t jp_nvmlDeviceGetMigMode_fn(nvmlDevice_t device, unsigned int *currentMode,
                                                unsigned int *pendingMode);
typedef nvmlReturn_t jp_nvmlDeviceGetSamples_fn(nvmlDevice_t device, nvmlSamplingType_t type,
                                                unsigned long long lastSeenTimeStamp, nvmlValueType_t *sampleValType,
                                                unsigned int *sampleCount, nvmlSample_t *samples);

/* Declared for the fake's definitions to be checked against; jouleprint never links to them. */
jp_nvmlInit_v2_fn nvmlInit_v2;
jp_nvmlShutdown_fn nvmlShutdown;
jp_nvmlErrorString_fn nvmlErrorString;
jp_nvmlSystemGetDriverVersion_fn nvmlSystemGetDriverVersion;
jp_nvmlDeviceGetCount_v2_fn nvmlDeviceGetCount_v2;
jp_nvmlDeviceGetHandleByIndex_v2_fn nvmlDeviceGetHandleByIndex_v2;
jp_nvmlDeviceGetName_fn nvmlDeviceGetName;
jp_nvmlDeviceGetTotalEnergyConsumption_fn nvmlDeviceGetTotalEnergyConsumption;
jp_nvmlDeviceGetPowerUsage_fn nvmlDeviceGetPowerUsage;
jp_nvmlDeviceGetEnforcedPowerLimit_fn nvmlDeviceGetEnforcedPowerLimit;
jp_nvmlDeviceGetUtilizationRates_fn nvmlDeviceGetUtilizationRates;
jp_nvmlDeviceGetMemoryInfo_fn nvmlDeviceGetMemoryInfo;
jp_nvmlDeviceGetMigMode_fn nvmlDeviceGetMigMode;
jp_nvmlDeviceGetSamples_fn nvmlDeviceGetSamples;

#endif
