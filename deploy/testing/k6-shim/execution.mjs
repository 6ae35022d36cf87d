// k6/execution for tests: the runner sets scenario.startTime before starting the VUs.
const exec = { scenario: { startTime: Date.now(), name: 'test' }, vu: { idInTest: 0 } };
export default exec;
